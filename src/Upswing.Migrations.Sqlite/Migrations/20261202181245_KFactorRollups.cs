using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Upswing.Migrations.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class KFactorRollups : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "k_factor_rollups",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    loop = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    cohort_day = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    inviters = table.Column<long>(type: "INTEGER", nullable: false),
                    invites_sent = table.Column<long>(type: "INTEGER", nullable: false),
                    opened = table.Column<long>(type: "INTEGER", nullable: false),
                    joined = table.Column<long>(type: "INTEGER", nullable: false),
                    reached_first_value = table.Column<long>(type: "INTEGER", nullable: false),
                    computed_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_k_factor_rollups", x => new { x.workspace_id, x.cohort_day, x.loop });
                    table.ForeignKey(
                        name: "FK_k_factor_rollups_workspaces_workspace_id",
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
                name: "k_factor_rollups");
        }
    }
}
