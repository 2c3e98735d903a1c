using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Upswing.Evaluation;

/// <summary>GrowthBook's MongoDB-like targeting condition language, evaluated over JSON attributes.</summary>
public static class Conditions
{
    // Hostile patterns (catastrophic backtracking) give up after this long and evaluate false.
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(50);
    private const int RegexCacheLimit = 1024;
    private static readonly ConcurrentDictionary<(string Pattern, bool IgnoreCase), Regex?> RegexCache = new();
    private const int PathCacheLimit = 1024;
    private static readonly ConcurrentDictionary<string, string[]> PathCache = new(StringComparer.Ordinal);

    /// <summary>True when <paramref name="attributes"/> satisfy <paramref name="condition"/>; saved groups back $inGroup/$notInGroup.</summary>
    public static bool Evaluate(JsonNode? attributes, JsonObject condition, JsonObject? savedGroups = null)
    {
        // Indexed loops over JSON objects and arrays throughout: their foreach enumerators are boxed, one allocation each.
        for (var i = 0; i < condition.Count; i++)
        {
            var (key, value) = condition.GetAt(i);
            switch (key)
            {
                case "$or":
                    if (!EvalOr(attributes, value, savedGroups))
                    {
                        return false;
                    }

                    break;
                case "$nor":
                    if (EvalOr(attributes, value, savedGroups))
                    {
                        return false;
                    }

                    break;
                case "$and":
                    if (!EvalAnd(attributes, value, savedGroups))
                    {
                        return false;
                    }

                    break;
                case "$not":
                    if (value is JsonObject inner && Evaluate(attributes, inner, savedGroups))
                    {
                        return false;
                    }

                    break;
                default:
                    if (!EvalConditionValue(value, GetPath(attributes, key), savedGroups))
                    {
                        return false;
                    }

                    break;
            }
        }

        return true;
    }

    private static bool EvalOr(JsonNode? attributes, JsonNode? conditions, JsonObject? savedGroups)
    {
        if (conditions is not JsonArray list || list.Count == 0)
        {
            return true;
        }

        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is JsonObject o && Evaluate(attributes, o, savedGroups))
            {
                return true;
            }
        }

        return false;
    }

    private static bool EvalAnd(JsonNode? attributes, JsonNode? conditions, JsonObject? savedGroups)
    {
        if (conditions is not JsonArray list)
        {
            return true;
        }

        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is not JsonObject o || !Evaluate(attributes, o, savedGroups))
            {
                return false;
            }
        }

        return true;
    }

    // A missing path reads as null, exactly like a null value.
    private static JsonNode? GetPath(JsonNode? obj, string path)
    {
        if (obj is JsonObject root && !path.Contains('.', StringComparison.Ordinal))
        {
            return root.TryGetPropertyValue(path, out var value) ? value : null;
        }

        var current = obj;
        foreach (var part in PathParts(path))
        {
            switch (current)
            {
                case JsonObject o when o.TryGetPropertyValue(part, out var next):
                    current = next;
                    break;
                case JsonArray a when int.TryParse(part, out var index) && index >= 0 && index < a.Count
                    && index.ToString(System.Globalization.CultureInfo.InvariantCulture) == part:
                    current = a[index];
                    break;
                default:
                    return null;
            }
        }

        return current;
    }

    // Dotted paths come from configuration, so there are few: split once each.
    private static string[] PathParts(string path)
    {
        if (PathCache.TryGetValue(path, out var parts))
        {
            return parts;
        }

        parts = path.Split('.');
        if (PathCache.Count < PathCacheLimit)
        {
            PathCache.TryAdd(path, parts);
        }

        return parts;
    }

    private static bool IsOperatorObject(JsonObject obj)
    {
        if (obj.Count == 0)
        {
            return false;
        }

        for (var i = 0; i < obj.Count; i++)
        {
            if (!obj.GetAt(i).Key.StartsWith('$'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool EvalConditionValue(JsonNode? condition, JsonNode? value, JsonObject? savedGroups)
    {
        if (JsValues.AsString(condition) is { } s)
        {
            return JsValues.ToJsString(value) == s;
        }

        if (JsValues.TryGetNumber(condition, out var number))
        {
            return JsValues.ToJsNumber(value) == number;
        }

        if (JsValues.AsBool(condition) is { } b)
        {
            // A missing or null attribute matches neither true nor false.
            return !JsValues.IsNull(value) && JsValues.Truthy(value) == b;
        }

        if (JsValues.IsNull(condition))
        {
            return JsValues.IsNull(value);
        }

        if (condition is JsonArray || condition is JsonObject o && !IsOperatorObject(o))
        {
            return JsValues.Stringify(value) == JsValues.Stringify(condition);
        }

        var operators = (JsonObject)condition!;
        for (var i = 0; i < operators.Count; i++)
        {
            var (op, expected) = operators.GetAt(i);
            if (!EvalOperator(op, value, expected, savedGroups))
            {
                return false;
            }
        }

        return true;
    }

    private static bool EvalOperator(string op, JsonNode? actual, JsonNode? expected, JsonObject? savedGroups)
    {
        switch (op)
        {
            case "$veq":
                return string.Equals(Versions.Pad(actual), Versions.Pad(expected), StringComparison.Ordinal);
            case "$vne":
                return !string.Equals(Versions.Pad(actual), Versions.Pad(expected), StringComparison.Ordinal);
            case "$vgt":
                return string.CompareOrdinal(Versions.Pad(actual), Versions.Pad(expected)) > 0;
            case "$vgte":
                return string.CompareOrdinal(Versions.Pad(actual), Versions.Pad(expected)) >= 0;
            case "$vlt":
                return string.CompareOrdinal(Versions.Pad(actual), Versions.Pad(expected)) < 0;
            case "$vlte":
                return string.CompareOrdinal(Versions.Pad(actual), Versions.Pad(expected)) <= 0;
            case "$eq":
                return JsValues.StrictEquals(actual, expected);
            case "$ne":
                return !JsValues.StrictEquals(actual, expected);
            case "$lt":
                return JsValues.Compare(actual, expected) is < 0;
            case "$lte":
                return JsValues.Compare(actual, expected) is <= 0;
            case "$gt":
                return JsValues.Compare(actual, expected) is > 0;
            case "$gte":
                return JsValues.Compare(actual, expected) is >= 0;
            case "$exists":
                return JsValues.Truthy(expected) ? !JsValues.IsNull(actual) : JsValues.IsNull(actual);
            case "$in":
                return expected is JsonArray inList && IsIn(actual, inList, false);
            case "$nin":
                return expected is JsonArray ninList && !IsIn(actual, ninList, false);
            case "$ini":
                return expected is JsonArray iniList && IsIn(actual, iniList, true);
            case "$nini":
                return expected is JsonArray niniList && !IsIn(actual, niniList, true);
            case "$inGroup":
                return IsIn(actual, SavedGroup(savedGroups, expected), false);
            case "$notInGroup":
                return !IsIn(actual, SavedGroup(savedGroups, expected), false);
            case "$not":
                return !EvalConditionValue(expected, actual, savedGroups);
            case "$size":
                return actual is JsonArray sized && EvalConditionValue(expected, JsonValue.Create(sized.Count), savedGroups);
            case "$elemMatch":
                return ElemMatch(actual, expected, savedGroups);
            case "$all":
                return All(actual, expected, savedGroups, false);
            case "$alli":
                return All(actual, expected, savedGroups, true);
            case "$regex":
                return RegexTest(expected, actual, false);
            case "$regexi":
                return RegexTest(expected, actual, true);
            case "$notRegex":
                return RegexTest(expected, actual, false, negate: true);
            case "$notRegexi":
                return RegexTest(expected, actual, true, negate: true);
            case "$type":
                return JsValues.AsString(expected) is { } t && JsValues.TypeOf(actual) == t;
            default:
                // Unknown operators fail closed.
                return false;
        }
    }

    private static JsonArray SavedGroup(JsonObject? savedGroups, JsonNode? id) =>
        savedGroups is not null && savedGroups.TryGetPropertyValue(JsValues.ToJsString(id), out var g) && g is JsonArray a
            ? a
            : [];

    private static bool IsIn(JsonNode? actual, JsonArray expected, bool ignoreCase)
    {
        if (actual is JsonArray values)
        {
            for (var i = 0; i < values.Count; i++)
            {
                if (Contains(expected, values[i], ignoreCase))
                {
                    return true;
                }
            }

            return false;
        }

        return Contains(expected, actual, ignoreCase);
    }

    private static bool Contains(JsonArray list, JsonNode? value, bool ignoreCase)
    {
        for (var i = 0; i < list.Count; i++)
        {
            var item = list[i];
            if (ignoreCase && JsValues.AsString(item) is { } a && JsValues.AsString(value) is { } b)
            {
                if (string.Equals(a.ToLowerInvariant(), b.ToLowerInvariant(), StringComparison.Ordinal))
                {
                    return true;
                }
            }
            else if (JsValues.StrictEquals(item, value))
            {
                return true;
            }
        }

        return false;
    }

    private static bool ElemMatch(JsonNode? actual, JsonNode? expected, JsonObject? savedGroups)
    {
        if (actual is not JsonArray values || expected is not JsonObject condition)
        {
            return false;
        }

        var isOperator = IsOperatorObject(condition);
        for (var i = 0; i < values.Count; i++)
        {
            var v = values[i];
            if (!JsValues.Truthy(v))
            {
                continue;
            }

            if (isOperator ? EvalConditionValue(condition, v, savedGroups) : Evaluate(v, condition, savedGroups))
            {
                return true;
            }
        }

        return false;
    }

    private static bool All(JsonNode? actual, JsonNode? expected, JsonObject? savedGroups, bool ignoreCase)
    {
        if (actual is not JsonArray values || expected is not JsonArray required)
        {
            return false;
        }

        for (var i = 0; i < required.Count; i++)
        {
            var e = required[i];
            var passed = false;
            for (var j = 0; j < values.Count; j++)
            {
                var v = values[j];
                var match = ignoreCase && JsValues.AsString(e) is { } es
                    ? string.Equals(JsValues.ToJsString(v).ToLowerInvariant(), es.ToLowerInvariant(), StringComparison.Ordinal)
                    : EvalConditionValue(e, v, savedGroups);
                if (match)
                {
                    passed = true;
                    break;
                }
            }

            if (!passed)
            {
                return false;
            }
        }

        return true;
    }

    // An invalid pattern (or one too slow to decide) matches nothing, negated or not: conditions fail closed.
    private static bool RegexTest(JsonNode? pattern, JsonNode? actual, bool ignoreCase, bool negate = false)
    {
        if (JsValues.AsString(pattern) is not { } p || GetRegex(p, ignoreCase) is not { } regex)
        {
            return false;
        }

        try
        {
            return regex.IsMatch(JsValues.ToJsString(actual)) != negate;
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    private static Regex? GetRegex(string pattern, bool ignoreCase)
    {
        if (RegexCache.TryGetValue((pattern, ignoreCase), out var cached))
        {
            return cached;
        }

        Regex? regex;
        try
        {
            var options = RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
            regex = new Regex(pattern, options, RegexTimeout);
        }
        catch (ArgumentException)
        {
            regex = null;
        }

        // Patterns come from configuration, so the set is small; the cap only guards against abuse.
        if (RegexCache.Count < RegexCacheLimit)
        {
            RegexCache.TryAdd((pattern, ignoreCase), regex);
        }

        return regex;
    }
}
