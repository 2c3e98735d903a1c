using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Upswing.Access;
using Upswing.Analytics;
using Upswing.Audit;
using Upswing.Data;
using Upswing.Demo;
using Upswing.Events;
using Upswing.Experiments;
using Upswing.Flags;
using Upswing.Jobs;
using Upswing.Workspaces;

namespace Upswing.Common;

/// <summary>The module list: every host (server and CLI verbs) registers the same services.</summary>
public static class UpswingModules
{
    public static IHostApplicationBuilder AddUpswingModules(this IHostApplicationBuilder builder)
    {
        builder.AddUpswingData();
        builder.AddAudit();
        builder.AddJobs();
        builder.AddWorkspaces();
        builder.AddAccess();
        builder.AddFlags();
        builder.AddExperiments();
        builder.AddEvents();
        builder.AddAnalytics();
        builder.Services.AddScoped<DemoData>();
        builder.Services.AddScoped<DemoEvents>();
        return builder;
    }
}
