using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Upswing.Migrations.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class VitalsRollups : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "vitals_rollups",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    day = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    metric = table.Column<string>(type: "TEXT", maxLength: 8, nullable: false),
                    path = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: false),
                    device_class = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    samples = table.Column<long>(type: "INTEGER", nullable: false),
                    p50 = table.Column<double>(type: "REAL", nullable: false),
                    p75 = table.Column<double>(type: "REAL", nullable: false),
                    p90 = table.Column<double>(type: "REAL", nullable: false),
                    computed_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_vitals_rollups", x => new { x.workspace_id, x.day, x.metric, x.path, x.device_class });
                    table.ForeignKey(
                        name: "FK_vitals_rollups_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspaces",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "vitals_rollups");
        }
    }
}
