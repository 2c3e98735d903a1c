using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Data;
using Upswing.TestKit;

namespace Upswing.IntegrationTests.Data;

public sealed class SqliteSettingsTests
{
    [Fact]
    public async Task EveryConnection_RunsWithWalNormalSyncForeignKeysAndBusyTimeout()
    {
        await using var server = await UpswingTestServer.StartAsync(TestDatabase.Sqlite(), new Dictionary<string, string?> { ["Data:SqliteBusyTimeoutMs"] = "7000" });
        for (var round = 0; round < 3; round++)
        {
            // Fresh scopes reuse pooled contexts and pooled connections: the settings must hold on each.
            var settings = await server.WithServicesAsync(async sp =>
            {
                var db = sp.GetRequiredService<UpswingDb>();
                var connection = db.Database.GetDbConnection();
                await db.Database.OpenConnectionAsync();
                try
                {
                    var values = new List<string>();
                    foreach (var pragma in (string[])["journal_mode", "synchronous", "foreign_keys", "busy_timeout"])
                    {
                        await using var command = connection.CreateCommand();
                        command.CommandText = $"PRAGMA {pragma}";
                        values.Add(Convert.ToString(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture)!);
                    }

                    return values;
                }
                finally
                {
                    await db.Database.CloseConnectionAsync();
                }
            });
            Assert.Equal(["wal", "1", "1", "7000"], settings);
        }

        await using var dialect = await server.Services.GetRequiredService<SqlDialect>().OpenConnectionAsync(CancellationToken.None);
        await using var check = dialect.CreateCommand();
        check.CommandText = "PRAGMA foreign_keys";
        Assert.Equal(1L, await check.ExecuteScalarAsync());
    }
}
