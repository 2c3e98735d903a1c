namespace Upswing.Common;

/// <summary>Why an expected operation did not succeed. Each kind maps to one HTTP status and one problem type.</summary>
public enum FailureKind
{
    NotFound,
    Invalid,
    Conflict,
    Forbidden,
}

/// <summary>An expected failure: a kind, a human sentence, and for <see cref="FailureKind.Invalid"/> the field errors.</summary>
public sealed record Failure(FailureKind Kind, string Message, IReadOnlyDictionary<string, string[]>? Errors = null)
{
    public static Failure NotFound(string message) => new(FailureKind.NotFound, message);

    public static Failure Conflict(string message) => new(FailureKind.Conflict, message);

    public static Failure Forbidden(string message) => new(FailureKind.Forbidden, message);

    public static Failure Invalid(string field, string message) =>
        new(FailureKind.Invalid, message, new Dictionary<string, string[]> { [field] = [message] });

    public static Failure Invalid(IReadOnlyDictionary<string, string[]> errors) =>
        new(FailureKind.Invalid, string.Join(" ", errors.SelectMany(e => e.Value)), errors);
}

/// <summary>The value of an operation or the expected failure that stopped it.</summary>
public readonly record struct Result<T>
{
    private Result(T? value, Failure? failure)
    {
        Value = value;
        Failure = failure;
    }

    public T? Value { get; }

    public Failure? Failure { get; }

    public bool Succeeded => Failure is null;

    public static implicit operator Result<T>(T value) => new(value, null);

    public static implicit operator Result<T>(Failure failure) => new(default, failure);
}

/// <summary>Collects field errors for a ValidationProblem.</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> errors = new(StringComparer.Ordinal);

    public bool Any => errors.Count > 0;

    public FieldErrors Add(string field, string message)
    {
        if (!errors.TryGetValue(field, out var list))
        {
            errors[field] = list = [];
        }

        list.Add(message);
        return this;
    }

    public FieldErrors Require(string field, string? value, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return Add(field, $"The {field} field is required.");
        }

        return value.Length > maxLength ? Add(field, $"The {field} field must be at most {maxLength} characters.") : this;
    }

    public Failure ToFailure() => Failure.Invalid(errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal));
}
