using System.Security.Cryptography;
using System.Text;

namespace ActorGateway.Node.Operations;

/// <summary>Why a request to the operations endpoint is refused: the HTTP status and a sentence for the operator.</summary>
public sealed record AccessRefusal(int StatusCode, string Text);

/// <summary>
/// Who may do what on the operations endpoint: reading (tenants and their users, the queue with
/// senders and recipients, the delivery log) needs the read token or the operations token; a
/// change needs the operations token. Without a token configured for it, the kind of request
/// is refused for everyone (403); a missing or wrong token is 401.
/// </summary>
public sealed class OperationsAccess
{
    readonly byte[]? _operations, _read;

    public OperationsAccess(string? operationsToken, string? readToken)
    {
        _operations = Digest(operationsToken);
        _read = Digest(readToken);
    }

    /// <summary>Null when the Authorization header may read, else the refusal.</summary>
    public AccessRefusal? ToRead(string? authorization)
    {
        if (_operations is null && _read is null)
            return new(403, "reading is disabled: no read token or operations token is configured (gateway.operations)");
        var given = Digest(BearerToken(authorization));
        return Matches(given, _operations) || Matches(given, _read) ? null
            : new(401, "a valid read or operations token is required (Authorization: Bearer ...)");
    }

    /// <summary>Null when the Authorization header may change something, else the refusal.</summary>
    public AccessRefusal? ToChange(string? authorization)
    {
        if (_operations is null) return new(403, "changes are disabled: no operations token is configured");
        var given = Digest(BearerToken(authorization));
        if (Matches(given, _operations)) return null;
        return Matches(given, _read) ? new(403, "the read token may only read: changes need the operations token")
            : new(401, "a valid operations token is required (Authorization: Bearer ...)");
    }

    static string? BearerToken(string? authorization)
    {
        const string scheme = "Bearer ";
        return authorization is not null && authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            ? authorization[scheme.Length..].Trim() : null;
    }

    // Hashes first, so that both sides have the same length and the comparison time tells nothing about the token.
    static byte[]? Digest(string? token) => string.IsNullOrEmpty(token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));

    static bool Matches(byte[]? given, byte[]? expected) =>
        given is not null && expected is not null && CryptographicOperations.FixedTimeEquals(given, expected);
}
