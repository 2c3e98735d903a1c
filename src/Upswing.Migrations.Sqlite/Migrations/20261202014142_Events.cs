using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Upswing.Migrations.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class Events : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "event_daily_counts",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    day = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    type = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    count = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_daily_counts", x => new { x.workspace_id, x.day, x.type, x.name });
                });

            migrationBuilder.CreateTable(
                name: "event_identities",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    anonymous_id = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    user_id = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    linked_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_identities", x => new { x.workspace_id, x.anonymous_id });
                });

            migrationBuilder.CreateTable(
                name: "event_message_ids",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    message_id = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    timestamp = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_message_ids", x => new { x.workspace_id, x.message_id });
                });

            migrationBuilder.CreateTable(
                name: "event_quarantine",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "TEXT", nullable: false),
                    workspace_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    message_id = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    type = table.Column<string>(type: "TEXT", maxLength: 16, nullable: true),
                    name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    reasons = table.Column<string>(type: "TEXT", nullable: false),
                    payload = table.Column<string>(type: "TEXT", nullable: false),
                    received_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_quarantine", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "event_users",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    user_id = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    traits = table.Column<string>(type: "TEXT", nullable: false),
                    first_seen_at = table.Column<long>(type: "INTEGER", nullable: false),
                    last_seen_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_users", x => new { x.workspace_id, x.user_id });
                });

            migrationBuilder.CreateTable(
                name: "events",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "TEXT", nullable: false),
                    workspace_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    environment_id = table.Column<Guid>(type: "TEXT", nullable: true),
                    message_id = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    type = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    user_id = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    anonymous_id = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    group_id = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    previous_id = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    timestamp = table.Column<long>(type: "INTEGER", nullable: false),
                    received_at = table.Column<long>(type: "INTEGER", nullable: false),
                    sent_at = table.Column<long>(type: "INTEGER", nullable: true),
                    original_timestamp = table.Column<long>(type: "INTEGER", nullable: true),
                    properties = table.Column<string>(type: "TEXT", nullable: true),
                    context = table.Column<string>(type: "TEXT", nullable: true),
                    traits = table.Column<string>(type: "TEXT", nullable: true),
                    experiments = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_events", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_event_identities_workspace_id_user_id",
                table: "event_identities",
                columns: new[] { "workspace_id", "user_id" });

            migrationBuilder.CreateIndex(
                name: "IX_event_quarantine_workspace_id_message_id",
                table: "event_quarantine",
                columns: new[] { "workspace_id", "message_id" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_event_quarantine_workspace_id_received_at",
                table: "event_quarantine",
                columns: new[] { "workspace_id", "received_at" });

            migrationBuilder.CreateIndex(
                name: "IX_events_workspace_id_anonymous_id_timestamp",
                table: "events",
                columns: new[] { "workspace_id", "anonymous_id", "timestamp" });

            migrationBuilder.CreateIndex(
                name: "IX_events_workspace_id_message_id",
                table: "events",
                columns: new[] { "workspace_id", "message_id" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_events_workspace_id_timestamp",
                table: "events",
                columns: new[] { "workspace_id", "timestamp" });

            migrationBuilder.CreateIndex(
                name: "IX_events_workspace_id_user_id_timestamp",
                table: "events",
                columns: new[] { "workspace_id", "user_id", "timestamp" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "event_daily_counts");

            migrationBuilder.DropTable(
                name: "event_identities");

            migrationBuilder.DropTable(
                name: "event_message_ids");

            migrationBuilder.DropTable(
                name: "event_quarantine");

            migrationBuilder.DropTable(
                name: "event_users");

            migrationBuilder.DropTable(
                name: "events");
        }
    }
}
