using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Upswing.Migrations.Postgres.Migrations
{
    /// <inheritdoc />
    public partial class Experiments : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "holdouts",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    key = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    percentage = table.Column<double>(type: "double precision", nullable: false),
                    hash_attribute = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_holdouts", x => x.id);
                    table.ForeignKey(
                        name: "FK_holdouts_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspaces",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "experiments",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    key = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    hypothesis = table.Column<string>(type: "character varying(4000)", maxLength: 4000, nullable: true),
                    hash_attribute = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    fallback_attribute = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true),
                    hash_version = table.Column<int>(type: "integer", nullable: false),
                    seed = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    variations = table.Column<string>(type: "text", nullable: false),
                    coverage = table.Column<double>(type: "double precision", nullable: false),
                    condition = table.Column<string>(type: "text", nullable: true),
                    saved_groups = table.Column<string>(type: "text", nullable: false),
                    @namespace = table.Column<string>(name: "namespace", type: "character varying(100)", maxLength: 100, nullable: true),
                    namespace_start = table.Column<double>(type: "double precision", nullable: false),
                    namespace_end = table.Column<double>(type: "double precision", nullable: false),
                    holdout_id = table.Column<Guid>(type: "uuid", nullable: true),
                    metrics = table.Column<string>(type: "text", nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    winner_index = table.Column<int>(type: "integer", nullable: true),
                    phases = table.Column<string>(type: "text", nullable: false),
                    version = table.Column<int>(type: "integer", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_experiments", x => x.id);
                    table.ForeignKey(
                        name: "FK_experiments_holdouts_holdout_id",
                        column: x => x.holdout_id,
                        principalTable: "holdouts",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_experiments_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspaces",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "experiment_assignments",
                columns: table => new
                {
                    experiment_id = table.Column<Guid>(type: "uuid", nullable: false),
                    unit_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    variation_index = table.Column<int>(type: "integer", nullable: false),
                    variation_key = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    bucket = table.Column<double>(type: "double precision", nullable: false),
                    phase = table.Column<int>(type: "integer", nullable: false),
                    source = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    first_exposed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_experiment_assignments", x => new { x.experiment_id, x.unit_id });
                    table.ForeignKey(
                        name: "FK_experiment_assignments_experiments_experiment_id",
                        column: x => x.experiment_id,
                        principalTable: "experiments",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_experiment_assignments_workspace_id_unit_id",
                table: "experiment_assignments",
                columns: new[] { "workspace_id", "unit_id" });

            migrationBuilder.CreateIndex(
                name: "IX_experiments_holdout_id",
                table: "experiments",
                column: "holdout_id");

            migrationBuilder.CreateIndex(
                name: "IX_experiments_workspace_id_key",
                table: "experiments",
                columns: new[] { "workspace_id", "key" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_holdouts_workspace_id_key",
                table: "holdouts",
                columns: new[] { "workspace_id", "key" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "experiment_assignments");

            migrationBuilder.DropTable(
                name: "experiments");

            migrationBuilder.DropTable(
                name: "holdouts");
        }
    }
}
