using System.Text;
using System.Text.Json;
using Upswing.Experiments;

namespace Upswing.App.Tests.Experiments;

public sealed class AssignmentResponseTests
{
    [Fact]
    public void WriteTo_WritesExactlyWhatTheSerializerWrites()
    {
        var response = new AssignmentResponse(
        [
            new("checkout-test", "one-page", 1, true, "user-42", true, 0.4321),
            new("héadline \"quoted\" <b>", "control", 0, false, "", false, null),
            new("tiny", "b", 2, true, "ü😀", false, 1e-9),
        ]);

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            response.WriteTo(writer);
        }

        Assert.Equal(JsonSerializer.Serialize(response, JsonSerializerOptions.Web), Encoding.UTF8.GetString(buffer.WrittenSpan));
    }
}
