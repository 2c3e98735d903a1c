using System.Text.Json.Nodes;

namespace Upswing.Flags;

/// <summary>Turns conditions plus saved-group references into the one GrowthBook condition SDKs evaluate.</summary>
internal static class SavedGroupConditions
{
    /// <summary>
    /// The conditions and the saved groups, combined with $and: list groups as <c>$inGroup</c> (their values go into
    /// the payload's savedGroups, so <paramref name="usedListGroups"/> collects them), condition groups inline.
    /// </summary>
    public static JsonNode? Combine(IEnumerable<JsonNode?> conditions, IEnumerable<string>? groupKeys, IReadOnlyDictionary<string, SavedGroup> groups, ISet<string> usedListGroups)
    {
        var parts = conditions.OfType<JsonNode>().Where(c => c is not JsonObject { Count: 0 }).ToList();
        foreach (var key in groupKeys ?? [])
        {
            if (!groups.TryGetValue(key, out var group))
            {
                // Validation keeps references intact; a group deleted meanwhile matches nobody rather than everybody.
                parts.Add(new JsonObject { ["$not"] = new JsonObject() });
                continue;
            }

            if (group.Type == SavedGroupType.List)
            {
                usedListGroups.Add(group.Key);
                parts.Add(new JsonObject { [group.AttributeKey!] = new JsonObject { ["$inGroup"] = group.Key } });
            }
            else if (group.Condition is not null)
            {
                parts.Add(JsonNode.Parse(group.Condition)!);
            }
        }

        return parts.Count switch
        {
            0 => null,
            1 => parts[0],
            _ => new JsonObject { ["$and"] = new JsonArray([.. parts.Select(p => p.Parent is null ? p : p.DeepClone())]) },
        };
    }
}
