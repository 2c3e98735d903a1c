using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Upswing.Migrations.Postgres.Migrations
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
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    loop = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    cohort_day = table.Column<DateOnly>(type: "date", nullable: false),
                    inviters = table.Column<long>(type: "bigint", nullable: false),
                    invites_sent = table.Column<long>(type: "bigint", nullable: false),
                    opened = table.Column<long>(type: "bigint", nullable: false),
                    joined = table.Column<long>(type: "bigint", nullable: false),
                    reached_first_value = table.Column<long>(type: "bigint", nullable: false),
                    computed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
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
