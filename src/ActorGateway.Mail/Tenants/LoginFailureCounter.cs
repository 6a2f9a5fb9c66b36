using System.Net;

namespace ActorGateway.Mail.Tenants;

/// <summary>
/// Failed SMTP AUTH attempts per client address across connections, like Postfix's anvil for
/// AUTH: once an address has <see cref="LoginFailureSettings.MaxFailures"/> failures within the
/// window it is locked out until the lockout ends, and then starts afresh. A successful login
/// does not reset the count, so a client holding one valid account cannot interleave it to
/// guess the passwords of others. IPv6 clients are counted per /64, the block one host
/// usually has, so rotating addresses within it does not reset the count. Bounded: past
/// <see cref="LoginFailureSettings.MaxClients"/> addresses, idle ones are dropped first.
/// </summary>
public sealed class LoginFailureCounter(LoginFailureSettings settings, TimeProvider clock)
{
    sealed class Client(TimeSpan window)
    {
        public readonly SlidingWindowLimit Failures = new(window);
        public DateTimeOffset? LockedUntil;
        public DateTimeOffset LastFailure;
    }

    readonly Dictionary<IPAddress, Client> _clients = new();
    readonly Lock _gate = new();

    public LoginFailureSettings Settings => settings;

    /// <summary>How many addresses are tracked now (bounded by <see cref="LoginFailureSettings.MaxClients"/>).</summary>
    public int TrackedClients { get { lock (_gate) return _clients.Count; } }

    /// <summary>The end of the address's lockout if it is locked out now, else null.</summary>
    public DateTimeOffset? LockedUntil(IPAddress address)
    {
        var now = clock.GetUtcNow();
        var key = KeyOf(address);
        lock (_gate)
        {
            if (!_clients.TryGetValue(key, out var client) || client.LockedUntil is not { } until) return null;
            if (until > now) return until;
            _clients.Remove(key); // served its lockout: counts from zero again
            return null;
        }
    }

    /// <summary>Counts a failed attempt; the answer says how many are in the window and whether this one locked the address out.</summary>
    public LoginFailure RecordFailure(IPAddress address)
    {
        var now = clock.GetUtcNow();
        var key = KeyOf(address);
        lock (_gate)
        {
            if (_clients.TryGetValue(key, out var client) && client.LockedUntil is { } until)
            {
                // Another connection of the same client failed while this one was checking.
                if (until > now) return new LoginFailure(settings.MaxFailures, until, StartedLockout: false);
                _clients.Remove(key);
                client = null;
            }
            if (client is null)
            {
                MakeRoom(now);
                _clients[key] = client = new Client(settings.Window);
            }
            client.Failures.Add(now);
            client.LastFailure = now;
            var count = client.Failures.Grants(now).Count;
            if (count < settings.MaxFailures) return new LoginFailure(count, null, StartedLockout: false);
            client.LockedUntil = now + settings.Lockout;
            return new LoginFailure(count, client.LockedUntil, StartedLockout: true);
        }
    }

    /// <summary>IPv4 as is; IPv6 by its /64.</summary>
    public static IPAddress KeyOf(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6) return address;
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }

    void MakeRoom(DateTimeOffset now)
    {
        if (_clients.Count < settings.MaxClients) return;
        // First whatever no longer matters: no failure left in the window and no lockout running.
        foreach (var (key, c) in _clients)
            if (c.LockedUntil is not { } until ? c.Failures.Grants(now).Count == 0 : until <= now)
                _clients.Remove(key);
        if (_clients.Count < settings.MaxClients) return;
        // Then the least recent: counting addresses before locked-out ones, whose lockout matters more.
        var victim = _clients.MinBy(kv => (kv.Value.LockedUntil is null ? 0 : 1, kv.Value.LastFailure)).Key;
        _clients.Remove(victim);
    }
}

/// <summary>A counted failure: failures within the window, and the lockout's end once the limit is reached.</summary>
public readonly record struct LoginFailure(int Failures, DateTimeOffset? LockedUntil, bool StartedLockout);
