using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Migrations.Design;
using Microsoft.Extensions.DependencyInjection;
using Upswing.Data;

// Scaffolds one migration per provider from the current UpswingDb model:
//   dotnet run --project tools/Upswing.MigrationsTool -- add <Name>
if (args is not ["add", var name] || string.IsNullOrWhiteSpace(name))
{
    Console.Error.WriteLine("usage: dotnet run --project tools/Upswing.MigrationsTool -- add <MigrationName>");
    return 2;
}

var root = FindRepositoryRoot();
Scaffold(root, "Upswing.Migrations.Sqlite", name,
    new DbContextOptionsBuilder<UpswingDb>().UseSqlite("Data Source=:memory:", o => o.MigrationsAssembly(DataModule.SqliteMigrationsAssembly)).Options,
    services => new Microsoft.EntityFrameworkCore.Sqlite.Design.Internal.SqliteDesignTimeServices().ConfigureDesignTimeServices(services));
Scaffold(root, "Upswing.Migrations.Postgres", name,
    new DbContextOptionsBuilder<UpswingDb>().UseNpgsql("Host=localhost", o => o.MigrationsAssembly(DataModule.PostgresMigrationsAssembly)).Options,
    services => new Npgsql.EntityFrameworkCore.PostgreSQL.Design.Internal.NpgsqlDesignTimeServices().ConfigureDesignTimeServices(services));
return 0;

static void Scaffold(string root, string project, string name, DbContextOptions<UpswingDb> options, Action<IServiceCollection> providerServices)
{
    using var db = new UpswingDb(options);
    var services = new ServiceCollection();
    services.AddEntityFrameworkDesignTimeServices();
    services.AddDbContextDesignTimeServices(db);
    providerServices(services);
    using var provider = services.BuildServiceProvider();
    var scaffolder = provider.GetRequiredService<IMigrationsScaffolder>();
    var migration = scaffolder.ScaffoldMigration(name, project, "Migrations", "C#");
    var projectDir = Path.Combine(root, "src", project);
    var files = scaffolder.Save(projectDir, migration, Path.Combine(projectDir, "Migrations"));
    Console.WriteLine($"{project}: {files.MigrationFile}");
}

static string FindRepositoryRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Upswing.slnx")))
    {
        dir = dir.Parent;
    }

    return dir?.FullName ?? throw new InvalidOperationException("Run the tool from inside the Upswing repository.");
}
