using System.Text.Json;
using Upswing.Events;

namespace Upswing.App.Tests.Events;

public sealed class EventMessagesTests
{
    private static readonly DateTimeOffset Received = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Timestamp_IsReceiptMinusTheSendersDelay()
    {
        // The device clock is an hour fast; the event happened 10 s before it was sent.
        var sentAt = Received.AddHours(1);
        var e = Read("""{"type":"track","userId":"u","event":"e","originalTimestamp":"2026-12-02T12:59:50Z"}""", sentAt);
        Assert.Equal(Received.AddSeconds(-10), e.Timestamp);
        Assert.Equal(sentAt, e.SentAt);
    }

    [Fact]
    public void Timestamp_WithoutSentAt_IsTakenAsGiven_AndWithoutAnyTimeIsTheReceipt()
    {
        Assert.Equal(Received.AddDays(-3), Read("""{"type":"track","userId":"u","event":"e","timestamp":"2026-11-29T12:00:00Z"}""").Timestamp);
        Assert.Equal(Received, Read("""{"type":"track","userId":"u","event":"e"}""").Timestamp);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_000_000), Read("""{"type":"track","userId":"u","event":"e","timestamp":1764000000000}""").Timestamp);
    }

    [Fact]
    public void NumericIds_AreKeptAsText_AndAMissingMessageIdIsAssigned()
    {
        var e = Read("""{"type":"identify","userId":12345,"traits":{"a":1}}""");
        Assert.Equal("12345", e.UserId);
        Assert.StartsWith("us-", e.MessageId);
        Assert.Equal("""{"a":1}""", e.Traits);
    }

    [Fact]
    public void BatchContext_FillsTheKeysAMessageLeavesOut()
    {
        using var batch = JsonDocument.Parse("""{"library":{"name":"lib"},"ip":"1.2.3.4"}""");
        using var message = JsonDocument.Parse("""{"type":"track","userId":"u","event":"e","context":{"ip":"5.6.7.8","page":{"path":"/"}}}""");
        var (e, _) = EventMessages.Read(message.RootElement, null, native: false, new Envelope(Received, null, batch.RootElement), TimeProvider.System);
        using var context = JsonDocument.Parse(e!.Context!);
        Assert.Equal("lib", context.RootElement.GetProperty("library").GetProperty("name").GetString());
        Assert.Equal("5.6.7.8", context.RootElement.GetProperty("ip").GetString());
        Assert.Equal("/", context.RootElement.GetProperty("page").GetProperty("path").GetString());
    }

    [Theory]
    [InlineData("""{"type":"track","event":"e"}""", "userId or anonymousId is required.")]
    [InlineData("""{"type":"alias","userId":"u"}""", "previousId and userId are required for an alias call.")]
    [InlineData("""{"type":"group","userId":"u"}""", "groupId is required for a group call.")]
    [InlineData("""{"userId":"u","event":"e"}""", "type is required in a batch: track, identify, page, screen, group or alias.")]
    [InlineData("""{"type":"track","userId":{"id":1},"event":"e"}""", "userId must be a string.")]
    [InlineData("""{"type":"track","userId":"u","event":"e","timestamp":"yesterday"}""", "timestamp must be an ISO 8601 date and time or Unix milliseconds.")]
    [InlineData("""{"type":"track","userId":"u","event":"e","timestamp":"2026-12-05T00:00:00Z"}""", "timestamp is more than a day in the future.")]
    [InlineData("""{"type":"track","userId":"u","event":"e","context":"web"}""", "context must be a JSON object.")]
    public void InvalidMessage_IsQuarantinedWithItsReason(string json, string reason)
    {
        using var message = JsonDocument.Parse(json);
        var (e, quarantined) = EventMessages.Read(message.RootElement, null, native: false, new Envelope(Received, null, null), TimeProvider.System);
        Assert.Null(e);
        Assert.Contains(reason, quarantined!.Reasons);
        Assert.Equal(json, quarantined.Payload);
    }

    private static IncomingEvent Read(string json, DateTimeOffset? sentAt = null)
    {
        using var message = JsonDocument.Parse(json);
        var (e, quarantined) = EventMessages.Read(message.RootElement, null, native: false, new Envelope(Received, sentAt, null), TimeProvider.System);
        Assert.Null(quarantined);
        return e!;
    }
}
