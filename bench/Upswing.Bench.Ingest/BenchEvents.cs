using System.Globalization;
using System.Text;

namespace Upswing.Bench.Ingest;

/// <summary>
/// The one event shape every verb uses, so the HTTP run and the raw inserts write the same rows: a Segment track call
/// with nested properties and a context, about 420 bytes of JSON.
/// </summary>
internal static class BenchEvents
{
    public const string Type = "track";

    public static string Name(long n) => (n % 4) switch { 0 => "Order Completed", 1 => "Product Viewed", 2 => "Cart Updated", _ => "Signed In" };

    public static string UserId(long n) => "user-" + (n % 5000).ToString(CultureInfo.InvariantCulture);

    public static string MessageId(string prefix, long batch, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}-{batch}-{index}");

    public static string Properties(long n) =>
        "{\"orderId\":\"o-" + n.ToString(CultureInfo.InvariantCulture) + "\",\"total\":" + (n % 997).ToString(CultureInfo.InvariantCulture) +
        ".5,\"currency\":\"EUR\",\"coupon\":null,\"products\":[{\"sku\":\"sku-" + (n % 31).ToString(CultureInfo.InvariantCulture) +
        "\",\"qty\":2,\"price\":19.99,\"tags\":[\"new\",\"sale\"]}],\"shipping\":{\"method\":\"express\",\"address\":{\"city\":\"Lyon\",\"zip\":\"69001\"}}}";

    public const string Context =
        """{"library":{"name":"upswing-bench","version":"1.0.0"},"ip":"127.0.0.1","locale":"fr-FR","userAgent":"Mozilla/5.0 (X11; Linux x86_64) bench","page":{"path":"/checkout","referrer":"https://example.com/"}}""";

    /// <summary>A Segment /v1/batch body of <paramref name="size"/> events of batch number <paramref name="batch"/>.</summary>
    public static byte[] BatchBody(string prefix, long batch, int size, DateTimeOffset now)
    {
        var timestamp = now.ToString("O", CultureInfo.InvariantCulture);
        var body = new StringBuilder(size * 480 + 64);
        body.Append("{\"batch\":[");
        for (var i = 0; i < size; i++)
        {
            var n = batch * size + i;
            if (i > 0)
            {
                body.Append(',');
            }

            body.Append(CultureInfo.InvariantCulture, $$"""{"type":"track","event":"{{Name(n)}}","userId":"{{UserId(n)}}","messageId":"{{MessageId(prefix, batch, i)}}","timestamp":"{{timestamp}}","properties":{{Properties(n)}},"context":{{Context}}}""");
        }

        body.Append(CultureInfo.InvariantCulture, $$"""],"sentAt":"{{timestamp}}"}""");
        return Encoding.UTF8.GetBytes(body.ToString());
    }
}
