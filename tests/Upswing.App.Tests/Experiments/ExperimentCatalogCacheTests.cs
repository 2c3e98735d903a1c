using System.Text.Json.Nodes;
using Upswing.Common;
using Upswing.Experiments;
using Upswing.TestKit;

namespace Upswing.App.Tests.Experiments;

public sealed class ExperimentCatalogCacheTests
{
    private static readonly Guid ExperimentId = Guid.NewGuid();
    private static readonly Guid Workspace = Guid.NewGuid();

    private static ExperimentCatalog Catalog(double controlWeight = 0.5, ExperimentStatus status = ExperimentStatus.Running)
    {
        var rule = new JsonObject
        {
            ["key"] = "checkout",
            ["seed"] = "checkout",
            ["hashAttribute"] = "id",
            ["hashVersion"] = 2,
            ["coverage"] = 1.0,
            ["weights"] = new JsonArray(controlWeight, 1 - controlWeight),
            ["phase"] = "0",
        };
        ExperimentVariation[] variations = [new("control", "Control", controlWeight), new("treatment", "Treatment", 1 - controlWeight)];
        var entry = new ExperimentEntry(ExperimentId, "checkout", status, null, variations, 0, "id", null, rule);
        return new ExperimentCatalog(new Dictionary<string, ExperimentEntry> { ["checkout"] = entry }, new Dictionary<string, JsonObject>(), [], DateTimeOffset.UnixEpoch);
    }

    [Fact]
    public void Fingerprint_IsTheSameForTheSameSettings_AndMovesWithAnyOfThem()
    {
        Assert.Equal(Catalog().Fingerprint, Catalog().Fingerprint);
        Assert.NotEqual(Catalog().Fingerprint, Catalog(controlWeight: 0.4).Fingerprint);
        Assert.NotEqual(Catalog().Fingerprint, Catalog(status: ExperimentStatus.Paused).Fingerprint);
    }

    [Fact]
    public async Task ExpiredCatalog_RebuiltUnchanged_KeepsWhatItLearnt_AChangedOneStartsAfresh()
    {
        // Without this, every time-to-live a busy node forgot its unassigned users and asked the database about each again.
        var clock = new FakeClock();
        var cache = new WorkspaceCache<bool, ExperimentCatalog>(clock, TimeSpan.FromSeconds(5), ExperimentCatalog.SameSettings);
        var weight = 0.5;
        var first = await cache.GetAsync(Workspace, true, 0, (_, _) => Task.FromResult(Catalog(weight)), CancellationToken.None);
        first.RememberUnassigned(ExperimentId, "user-1");

        clock.Advance(TimeSpan.FromSeconds(6));
        var rebuilt = await cache.GetAsync(Workspace, true, 0, (_, _) => Task.FromResult(Catalog(weight)), CancellationToken.None);
        Assert.Same(first, rebuilt);
        Assert.True(rebuilt.KnownUnassigned(ExperimentId, "user-1"));

        weight = 0.4;
        clock.Advance(TimeSpan.FromSeconds(6));
        var changed = await cache.GetAsync(Workspace, true, 0, (_, _) => Task.FromResult(Catalog(weight)), CancellationToken.None);
        Assert.NotSame(first, changed);
        Assert.False(changed.KnownUnassigned(ExperimentId, "user-1"));
    }
}
