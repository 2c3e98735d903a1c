using System.Text;

namespace Upswing.Sdk;

/// <summary>One dispatched server-sent event.</summary>
internal sealed record ServerSentEvent(string Type, string Data, string? LastEventId);

/// <summary>
/// Line-by-line parser for text/event-stream as the HTML standard defines it: `event`, `data` (several lines join
/// with LF), `id`, `retry`, comments starting with ':', an optional single space after the colon, and an empty
/// line dispatching the event. Feed it lines without their terminators (CRLF, LF or CR).
/// </summary>
internal sealed class ServerSentEventParser
{
    private readonly StringBuilder data = new();
    private string? eventType;
    private bool hasData;

    /// <summary>The id of the last event, sent back as Last-Event-ID when reconnecting.</summary>
    public string? LastEventId { get; private set; }

    /// <summary>The reconnection time the server asked for with `retry:`, if any.</summary>
    public TimeSpan? Retry { get; private set; }

    /// <summary>The event the line completes, if it is the empty line ending one with data.</summary>
    public ServerSentEvent? Parse(string line)
    {
        if (line.Length == 0)
        {
            return Dispatch();
        }

        if (line[0] == ':')
        {
            return null;
        }

        var colon = line.IndexOf(':', StringComparison.Ordinal);
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? "" : line[(colon + 1)..];
        if (value.Length > 0 && value[0] == ' ')
        {
            value = value[1..];
        }

        switch (field)
        {
            case "event":
                eventType = value;
                break;
            case "data":
                data.Append(value).Append('\n');
                hasData = true;
                break;
            case "id" when !value.Contains('\0', StringComparison.Ordinal):
                LastEventId = value;
                break;
            case "retry" when value.Length > 0 && value.All(char.IsAsciiDigit) && long.TryParse(value, out var ms):
                Retry = TimeSpan.FromMilliseconds(ms);
                break;
        }

        return null;
    }

    /// <summary>Forgets a half-received event, as a closed connection must.</summary>
    public void Reset()
    {
        data.Clear();
        hasData = false;
        eventType = null;
    }

    private ServerSentEvent? Dispatch()
    {
        if (!hasData)
        {
            eventType = null;
            return null;
        }

        var text = data.ToString(0, data.Length - 1);
        var dispatched = new ServerSentEvent(string.IsNullOrEmpty(eventType) ? "message" : eventType, text, LastEventId);
        Reset();
        return dispatched;
    }
}
