using System.Net;

namespace ActorGateway.Mail.Tenants;

/// <summary>Finds the tenant of a client: by SMTP AUTH login first, else by source network.</summary>
public sealed class TenantDirectory
{
    readonly IReadOnlyList<Tenant> _tenants;
    readonly Dictionary<string, (Tenant Tenant, string Hash)> _users = new(StringComparer.Ordinal);
    static readonly Lazy<string> UnknownUserHash = new(() => PasswordHash.Create(Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16))));

    public TenantDirectory(IReadOnlyList<Tenant> tenants)
    {
        _tenants = tenants;
        foreach (var t in tenants)
            foreach (var (user, hash) in t.Users)
            {
                if (!PasswordHash.IsValidFormat(hash))
                    throw new ArgumentException($"tenant '{t.Id}': the password hash of user '{user}' is not a pbkdf2-sha256 hash");
                if (!_users.TryAdd(user, (t, hash)))
                    throw new ArgumentException($"SMTP user '{user}' belongs to more than one tenant");
            }
    }

    public IReadOnlyList<Tenant> All => _tenants;

    /// <summary>
    /// The tenant whose user this is, if the password matches: from <paramref name="verified"/>
    /// when this login, password and stored hash passed before, else by the password hash.
    /// </summary>
    public Tenant? Authenticate(string user, string password, VerifiedLoginCache? verified = null)
    {
        if (!_users.TryGetValue(user, out var entry))
        {
            // As slow as a wrong password against a new hash, so the time of the answer does not tell which logins exist.
            PasswordHash.Verify(password, UnknownUserHash.Value);
            return null;
        }
        if (verified is not null && verified.Contains(user, password, entry.Hash)) return entry.Tenant;
        if (!PasswordHash.Verify(password, entry.Hash)) return null;
        verified?.Add(user, password, entry.Hash);
        return entry.Tenant;
    }

    public Tenant? FindByUser(string user) => _users.TryGetValue(user, out var e) ? e.Tenant : null;

    /// <summary>The tenant with the most specific network containing the address.</summary>
    public Tenant? FindByAddress(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        Tenant? best = null; var bestPrefix = -1;
        foreach (var t in _tenants)
            foreach (var n in t.Networks)
                if (n.PrefixLength > bestPrefix && n.Contains(address)) { best = t; bestPrefix = n.PrefixLength; }
        return best;
    }
}
