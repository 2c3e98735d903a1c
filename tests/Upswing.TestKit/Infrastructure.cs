using Xunit;

namespace Upswing.TestKit;

/// <summary>
/// Where a test needs PostgreSQL, Chromium or another installed component: on a laptop without it the
/// test is skipped with the reason; under CI (CI=true) a missing component fails the test instead.
/// </summary>
public static class Infrastructure
{
    public static bool IsCI => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static void Require(bool available, string reason)
    {
        if (available)
        {
            return;
        }

        if (IsCI)
        {
            Assert.Fail($"Required test infrastructure is missing under CI: {reason}");
        }

        Assert.Skip(reason);
    }

    /// <summary>The repository root (the folder holding Upswing.slnx).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Upswing.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Tests must run from inside the Upswing repository.");
    }

    /// <summary>Unique, readable names for test data: never count seeded rows, make your own.</summary>
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..10]}";

    /// <summary>Waits for a condition without sleeping a fixed time.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (!await condition())
        {
            if (deadline.IsCancellationRequested)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}.");
            }

            await Task.Delay(50, CancellationToken.None);
        }
    }
}
