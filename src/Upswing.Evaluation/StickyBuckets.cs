namespace Upswing.Evaluation;

/// <summary>Sticky bucket assignments for one attribute value: "experimentKey__bucketVersion" to variation key.</summary>
public sealed record StickyAssignmentDocument(string AttributeName, string AttributeValue, IReadOnlyDictionary<string, string> Assignments)
{
    /// <summary>The store key, "attributeName||attributeValue".</summary>
    public string StoreKey => AttributeName + "||" + AttributeValue;
}

/// <summary>
/// Mutable per-request set of sticky bucket documents. The caller loads the user's documents before
/// evaluation and persists <see cref="Changed"/> ones afterwards; evaluation itself does no I/O.
/// </summary>
public sealed class StickyBucketStore
{
    private readonly Dictionary<string, StickyAssignmentDocument> _documents = new(StringComparer.Ordinal);
    private readonly HashSet<string> _changed = new(StringComparer.Ordinal);

    /// <summary>Creates a store holding <paramref name="documents"/>.</summary>
    public StickyBucketStore(IEnumerable<StickyAssignmentDocument>? documents = null)
    {
        foreach (var doc in documents ?? [])
        {
            _documents[doc.StoreKey] = doc;
        }
    }

    /// <summary>All documents by store key.</summary>
    public IReadOnlyDictionary<string, StickyAssignmentDocument> Documents => _documents;

    /// <summary>Documents written during evaluation, to persist.</summary>
    public IEnumerable<StickyAssignmentDocument> Changed => _changed.Select(k => _documents[k]);

    /// <summary>The document for attribute name and value, if any.</summary>
    public StickyAssignmentDocument? Get(string attributeName, string attributeValue) =>
        _documents.GetValueOrDefault(attributeName + "||" + attributeValue);

    internal void Assign(string attributeName, string attributeValue, string experimentKey, string variationKey)
    {
        var existing = Get(attributeName, attributeValue);
        if (existing is not null && existing.Assignments.TryGetValue(experimentKey, out var current) && current == variationKey)
        {
            return;
        }

        var assignments = existing is null
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : new Dictionary<string, string>(existing.Assignments, StringComparer.Ordinal);
        assignments[experimentKey] = variationKey;
        var doc = new StickyAssignmentDocument(attributeName, attributeValue, assignments);
        _documents[doc.StoreKey] = doc;
        _changed.Add(doc.StoreKey);
    }
}
