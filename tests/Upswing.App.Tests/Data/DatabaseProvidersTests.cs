using Upswing.Common.Http;
using Upswing.Data;

namespace Upswing.App.Tests.Data;

public sealed class DatabaseProvidersTests
{
    [Theory]
    [InlineData(null, DatabaseProvider.Sqlite)]
    [InlineData("", DatabaseProvider.Sqlite)]
    [InlineData("Host=db;Username=u;Database=upswing", DatabaseProvider.Postgres)]
    [InlineData("postgres://u:p@db:5433/upswing", DatabaseProvider.Postgres)]
    public void Detect_ChoosesTheProvider(string? database, DatabaseProvider expected) => Assert.Equal(expected, DatabaseProviders.Detect(database));

    [Fact]
    public void Detect_Nonsense_ExplainsWhatIsExpected()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DatabaseProviders.Detect("mysql://x"));
        Assert.Contains("PostgreSQL connection string", error.Message);
    }

    [Fact]
    public void ToNpgsqlConnectionString_ConvertsAUri()
    {
        var text = DatabaseProviders.ToNpgsqlConnectionString("postgres://up%40swing:s3cret@db.internal:5433/growth");
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(text);
        Assert.Equal(("db.internal", 5433, "growth", "up@swing", "s3cret"), (builder.Host, builder.Port, builder.Database, builder.Username, builder.Password));
    }

    [Fact]
    public void InsertIgnoringConflicts_SpellsOnConflictDoNothing()
    {
        var sql = new TestDialect().InsertIgnoringConflicts("events", ["workspace_id", "message_id"], "workspace_id, message_id");
        Assert.Equal("INSERT INTO events (workspace_id, message_id) VALUES (@workspace_id, @message_id) ON CONFLICT (workspace_id, message_id) DO NOTHING", sql);
    }

    [Theory]
    [InlineData("abc-123_X.y", true)]
    [InlineData("", false)]
    [InlineData("has space", false)]
    [InlineData("<script>", false)]
    public void RequestId_AcceptsOnlySafeIncomingIds(string value, bool ok) => Assert.Equal(ok, RequestIdMiddleware.IsAcceptable(value));

    private sealed class TestDialect : SqlDialect
    {
        public override DatabaseProvider Provider => DatabaseProvider.Sqlite;

        public override string ForUpdateSkipLocked => "";

        public override Task<System.Data.Common.DbConnection> OpenConnectionAsync(CancellationToken ct) => throw new NotSupportedException();

        public override Task NotifyAsync(string channel, string payload, CancellationToken ct) => Task.CompletedTask;

        public override object Value(Guid value) => value;

        public override object Value(DateTimeOffset value) => value;

        public override object Value(DateOnly value) => value;

        public override string DayOf(string column) => column;

        public override DateTimeOffset ReadTime(System.Data.Common.DbDataReader reader, int ordinal) => throw new NotSupportedException();

        public override DateOnly ReadDay(System.Data.Common.DbDataReader reader, int ordinal) => throw new NotSupportedException();
    }
}
