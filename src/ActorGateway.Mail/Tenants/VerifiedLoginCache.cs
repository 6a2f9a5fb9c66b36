using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace ActorGateway.Mail.Tenants;

/// <summary>
/// Logins that passed the (deliberately slow) password hash check, so that the next AUTH of
/// the same login and password costs one HMAC instead of another PBKDF2. Only a keyed hash
/// is kept (HMAC-SHA256 with a key made at start and never stored), over the login, the
/// password and the stored hash: when the configured hash changes (reload), the old entry no
/// longer matches. Only successes are added. Bounded: the least recently used entry goes
/// first; a capacity of 0 turns the cache off.
/// </summary>
public sealed class VerifiedLoginCache(int capacity)
{
    readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    readonly Dictionary<UInt128, LinkedListNode<UInt128>> _entries = new();
    readonly LinkedList<UInt128> _recency = new();
    readonly Lock _gate = new();

    public int Count { get { lock (_gate) return _entries.Count; } }

    public bool Contains(string user, string password, string storedHash)
    {
        if (capacity <= 0) return false;
        var key = KeyOf(user, password, storedHash);
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var node)) return false;
            _recency.Remove(node);
            _recency.AddFirst(node);
            return true;
        }
    }

    /// <summary>Records a login whose password was just verified against <paramref name="storedHash"/>.</summary>
    public void Add(string user, string password, string storedHash)
    {
        if (capacity <= 0) return;
        var key = KeyOf(user, password, storedHash);
        lock (_gate)
        {
            if (_entries.ContainsKey(key)) return;
            if (_entries.Count >= capacity)
            {
                _entries.Remove(_recency.Last!.Value);
                _recency.RemoveLast();
            }
            _entries[key] = _recency.AddFirst(key);
        }
    }

    /// <summary>128 bits of the HMAC: collisions stay out of reach, and the key fits a value type.</summary>
    UInt128 KeyOf(string user, string password, string storedHash)
    {
        // Each field length-prefixed, so no two (login, password) pairs give the same input.
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
        Span<byte> length = stackalloc byte[4];
        foreach (var field in (ReadOnlySpan<string>)[user, password, storedHash])
        {
            var bytes = Encoding.UTF8.GetBytes(field);
            BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            hmac.AppendData(length);
            hmac.AppendData(bytes);
        }
        Span<byte> mac = stackalloc byte[32];
        hmac.GetHashAndReset(mac);
        return BinaryPrimitives.ReadUInt128BigEndian(mac);
    }
}
