using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Upswing.Migrations.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class ShardedDailyCounts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropPrimaryKey(
                name: "PK_event_daily_counts",
                table: "event_daily_counts");

            migrationBuilder.AddColumn<short>(
                name: "shard",
                table: "event_daily_counts",
                type: "INTEGER",
                nullable: false,
                defaultValue: (short)0);

            migrationBuilder.AddPrimaryKey(
                name: "PK_event_daily_counts",
                table: "event_daily_counts",
                columns: new[] { "workspace_id", "day", "type", "name", "shard" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropPrimaryKey(
                name: "PK_event_daily_counts",
                table: "event_daily_counts");

            migrationBuilder.DropColumn(
                name: "shard",
                table: "event_daily_counts");

            migrationBuilder.AddPrimaryKey(
                name: "PK_event_daily_counts",
                table: "event_daily_counts",
                columns: new[] { "workspace_id", "day", "type", "name" });
        }
    }
}
