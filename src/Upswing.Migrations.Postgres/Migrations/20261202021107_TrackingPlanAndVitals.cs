using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Upswing.Migrations.Postgres.Migrations
{
    /// <inheritdoc />
    public partial class TrackingPlanAndVitals : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "event_definitions",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    description = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    properties = table.Column<string>(type: "text", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_definitions", x => x.id);
                    table.ForeignKey(
                        name: "FK_event_definitions_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspaces",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "event_settings",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    validation = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    allow_unplanned_events = table.Column<bool>(type: "boolean", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_settings", x => x.workspace_id);
                    table.ForeignKey(
                        name: "FK_event_settings_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspaces",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "web_vitals",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    environment_id = table.Column<Guid>(type: "uuid", nullable: true),
                    metric_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    name = table.Column<string>(type: "character varying(8)", maxLength: 8, nullable: false),
                    value = table.Column<double>(type: "double precision", nullable: false),
                    rating = table.Column<string>(type: "character varying(24)", maxLength: 24, nullable: true),
                    navigation_type = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    url = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    path = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    device_class = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    user_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    anonymous_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    timestamp = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_web_vitals", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_event_definitions_workspace_id_name",
                table: "event_definitions",
                columns: new[] { "workspace_id", "name" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_web_vitals_workspace_id_metric_id",
                table: "web_vitals",
                columns: new[] { "workspace_id", "metric_id" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_web_vitals_workspace_id_name_timestamp",
                table: "web_vitals",
                columns: new[] { "workspace_id", "name", "timestamp" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "event_definitions");

            migrationBuilder.DropTable(
                name: "event_settings");

            migrationBuilder.DropTable(
                name: "web_vitals");
        }
    }
}
