namespace ActorGateway.Mail.Tenants;

/// <summary>
/// A sliding-log limit: at most <c>limit</c> grants in any interval of <see cref="Window"/>.
/// Each grant's time is kept until it leaves the window, so the count is exact (no bucket
/// edges where twice the limit could pass); at 100 per minute that is at most 100 times.
/// </summary>
public sealed class SlidingWindowLimit(TimeSpan window)
{
    readonly Queue<DateTimeOffset> _grants = new();

    public TimeSpan Window { get; } = window;

    /// <summary>Grants still inside the window that ends at <paramref name="now"/>, oldest first.</summary>
    public IReadOnlyCollection<DateTimeOffset> Grants(DateTimeOffset now) { Expire(now); return _grants; }

    public bool HasRoom(int limit, DateTimeOffset now) { Expire(now); return _grants.Count < limit; }

    /// <summary>Records a grant (also when replaying a recorded one, whose time may already be past).</summary>
    public void Add(DateTimeOffset at) => _grants.Enqueue(at);

    /// <summary>How long until one more grant fits under <paramref name="limit"/>.</summary>
    public TimeSpan RetryAfter(int limit, DateTimeOffset now)
    {
        Expire(now);
        if (_grants.Count < limit) return TimeSpan.Zero;
        // The grant whose expiry makes room is the (count - limit + 1)-th oldest.
        var freeing = _grants.ElementAt(_grants.Count - limit);
        return freeing + Window - now;
    }

    void Expire(DateTimeOffset now)
    {
        while (_grants.Count > 0 && _grants.Peek() <= now - Window) _grants.Dequeue();
    }
}
