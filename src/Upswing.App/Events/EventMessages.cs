using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Upswing.Common;

namespace Upswing.Events;

/// <summary>What a request carries besides its events: batch-wide sentAt and context, and when it arrived.</summary>
internal readonly record struct Envelope(DateTimeOffset ReceivedAt, DateTimeOffset? SentAt, JsonElement? Context);

/// <summary>
/// Turns Segment messages (and native events, which are track calls spelled with <c>name</c>) into
/// <see cref="IncomingEvent"/>s, or into <see cref="QuarantineItem"/>s listing everything wrong with them.
/// </summary>
internal static class EventMessages
{
    /// <summary>Reads one message; <paramref name="impliedType"/> is the call the path names (/v1/track), null for batch items.</summary>
    public static (IncomingEvent? Event, QuarantineItem? Quarantined) Read(JsonElement message, string? impliedType, bool native, in Envelope envelope, TimeProvider time)
    {
        var reasons = new List<string>(0);
        if (message.ValueKind != JsonValueKind.Object)
        {
            return (null, new QuarantineItem(NewMessageId(time), null, null, ["The event is not a JSON object."], message.GetRawText()));
        }

        var type = native ? EventTypes.Track : impliedType ?? ReadType(message, reasons);
        var messageId = Id(message, "messageId", reasons);
        var userId = Id(message, "userId", reasons);
        var anonymousId = Id(message, "anonymousId", reasons);
        string? name = null, groupId = null, previousId = null;
        switch (type)
        {
            case EventTypes.Track:
                name = Text(message, native ? "name" : "event", EventLimits.MaxNameLength, reasons);
                if (string.IsNullOrEmpty(name))
                {
                    reasons.Add(native ? "name is required." : "event is required for a track call.");
                }

                break;
            case EventTypes.Page or EventTypes.Screen:
                name = Text(message, "name", EventLimits.MaxNameLength, reasons);
                break;
            case EventTypes.Group:
                groupId = Id(message, "groupId", reasons);
                if (groupId is null)
                {
                    reasons.Add("groupId is required for a group call.");
                }

                break;
            case EventTypes.Alias:
                previousId = Id(message, "previousId", reasons);
                if (previousId is null || userId is null)
                {
                    reasons.Add("previousId and userId are required for an alias call.");
                }

                break;
        }

        if (userId is null && anonymousId is null && type != EventTypes.Alias)
        {
            reasons.Add("userId or anonymousId is required.");
        }

        var sentAt = Time(message, "sentAt", reasons) ?? envelope.SentAt;
        var original = Time(message, "originalTimestamp", reasons) ?? Time(message, "timestamp", reasons);
        var timestamp = Corrected(envelope.ReceivedAt, sentAt, original);
        if (timestamp < EventLimits.Earliest)
        {
            reasons.Add("timestamp is before 2000-01-01.");
        }
        else if (timestamp > envelope.ReceivedAt + EventLimits.MaxFuture)
        {
            reasons.Add("timestamp is more than a day in the future.");
        }

        var properties = Object(message, "properties", reasons);
        var traits = Object(message, "traits", reasons);
        var context = Context(message, envelope.Context, reasons);
        if (type == EventTypes.Page && properties is null && name is not null)
        {
            // Segment copies a page's name into its properties; reports read it from there.
            properties = JsonSerializer.Serialize(new Dictionary<string, string> { ["name"] = name });
        }

        if (reasons.Count > 0 || type is null)
        {
            return (null, new QuarantineItem(messageId ?? NewMessageId(time), type, name, reasons, message.GetRawText()));
        }

        return (new IncomingEvent
        {
            Type = type,
            Name = name,
            UserId = userId,
            AnonymousId = anonymousId,
            GroupId = groupId,
            PreviousId = previousId,
            MessageId = messageId ?? NewMessageId(time),
            Timestamp = timestamp,
            SentAt = sentAt,
            OriginalTimestamp = original,
            Properties = properties,
            Context = context,
            Traits = traits,
        }, null);
    }

    /// <summary>Segment's clock-skew correction: the client's delay between the event and sending it, taken back from our receipt.</summary>
    public static DateTimeOffset Corrected(DateTimeOffset receivedAt, DateTimeOffset? sentAt, DateTimeOffset? original) =>
        original is null ? receivedAt
        : sentAt is null ? original.Value
        : receivedAt - (sentAt.Value - original.Value);

    /// <summary>The message's raw UTF-8 length: what the 32 KB limit counts.</summary>
    public static int RawLength(JsonElement element) => JsonMarshal.GetRawUtf8Value(element).Length;

    public static string NewMessageId(TimeProvider time) => "us-" + Ids.New(time).ToString("N");

    private static string? ReadType(JsonElement message, List<string> reasons)
    {
        if (!message.TryGetProperty("type", out var value) || value.ValueKind != JsonValueKind.String)
        {
            reasons.Add("type is required in a batch: track, identify, page, screen, group or alias.");
            return null;
        }

        var type = EventTypes.Normalize(value.GetString());
        if (type is null)
        {
            reasons.Add("type must be track, identify, page, screen, group or alias.");
        }

        return type;
    }

    /// <summary>An id: a string, or a number taken as its text (some senders use numeric user ids).</summary>
    private static string? Id(JsonElement message, string field, List<string> reasons)
    {
        if (!message.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };
        if (text is null)
        {
            reasons.Add($"{field} must be a string.");
            return null;
        }

        if (text.Length > EventLimits.MaxIdLength)
        {
            reasons.Add($"{field} is longer than {EventLimits.MaxIdLength} characters.");
            return null;
        }

        return text.Length == 0 ? null : text;
    }

    private static string? Text(JsonElement message, string field, int maxLength, List<string> reasons)
    {
        if (!message.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            reasons.Add($"{field} must be a string.");
            return null;
        }

        var text = value.GetString()!;
        if (text.Length > maxLength)
        {
            reasons.Add($"{field} is longer than {maxLength} characters.");
            return null;
        }

        return text.Length == 0 ? null : text;
    }

    private static DateTimeOffset? Time(JsonElement message, string field, List<string> reasons)
    {
        if (!message.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return parsed;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var milliseconds) && milliseconds is > 0 and < 253402300799999)
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
        }

        reasons.Add($"{field} must be an ISO 8601 date and time or Unix milliseconds.");
        return null;
    }

    private static string? Object(JsonElement message, string field, List<string> reasons)
    {
        if (!message.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            reasons.Add($"{field} must be a JSON object.");
            return null;
        }

        return value.GetRawText();
    }

    /// <summary>The message's context over the batch's: a batch-wide context (library, ip…) fills the keys a message leaves out.</summary>
    private static string? Context(JsonElement message, JsonElement? batchContext, List<string> reasons)
    {
        var own = Object(message, "context", reasons);
        if (batchContext is not { ValueKind: JsonValueKind.Object } shared)
        {
            return own;
        }

        if (own is null)
        {
            return shared.GetRawText();
        }

        var merged = new StringBuilder("{");
        var ownElement = message.GetProperty("context");
        foreach (var property in shared.EnumerateObject())
        {
            if (!ownElement.TryGetProperty(property.Name, out _))
            {
                Append(merged, property);
            }
        }

        foreach (var property in ownElement.EnumerateObject())
        {
            Append(merged, property);
        }

        return merged.Append('}').ToString();

        static void Append(StringBuilder json, JsonProperty property)
        {
            if (json.Length > 1)
            {
                json.Append(',');
            }

            json.Append(JsonSerializer.Serialize(property.Name)).Append(':').Append(property.Value.GetRawText());
        }
    }
}
