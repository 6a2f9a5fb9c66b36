using System.Security.Cryptography;
using System.Text;

namespace ActorGateway.Mail.Tenants;

/// <summary>
/// SMTP AUTH passwords are stored only as PBKDF2-SHA256 hashes:
/// <c>pbkdf2-sha256$ITERATIONS$SALT_BASE64$HASH_BASE64</c>. New hashes get 600,000
/// iterations (OWASP's figure for PBKDF2-HMAC-SHA256); a stored hash keeps its own count, so
/// older hashes with fewer iterations still verify.
/// </summary>
public static class PasswordHash
{
    const string Scheme = "pbkdf2-sha256";
    public const int DefaultIterations = 600_000;

    public static string Create(string password, int iterations = DefaultIterations)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        return $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    public static bool IsValidFormat(string stored) => TryParse(stored, out _, out _, out _);

    /// <summary>The iteration count of a stored hash, or null when it is not one.</summary>
    public static int? IterationsOf(string stored) => TryParse(stored, out var iterations, out _, out _) ? iterations : null;

    public static bool Verify(string password, string stored)
    {
        if (!TryParse(stored, out var iterations, out var salt, out var expected)) return false;
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    static bool TryParse(string stored, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0; salt = hash = [];
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme || !int.TryParse(parts[1], out iterations) || iterations < 1000) return false;
        try { salt = Convert.FromBase64String(parts[2]); hash = Convert.FromBase64String(parts[3]); }
        catch (FormatException) { return false; }
        return salt.Length >= 8 && hash.Length >= 16;
    }
}
