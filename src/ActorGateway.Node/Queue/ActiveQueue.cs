namespace ActorGateway.Node.Queue;

/// <summary>
/// How many queued messages the sweeper has woken and not yet heard back from, bounded like
/// Postfix's active queue (qmgr_message_active_limit): a woken message holds its body in
/// memory until its attempt ends, so a large backlog that falls due at once (a receiver back
/// after an outage, a node restarted under a full queue) is let in a limited number at a time,
/// the earliest due first. A message counts as active until its attempt or its end is seen,
/// or until <paramref name="timeout"/> has passed (a wake that got lost).
/// </summary>
public sealed class ActiveQueue(int limit, TimeSpan timeout)
{
    readonly Dictionary<string, DateTimeOffset> _woken = new(StringComparer.Ordinal);

    public int Count => _woken.Count;
    public int Limit => limit;

    /// <summary>
    /// Of the due messages, those to wake now: not active already, earliest due first, as many
    /// as there are free places. <paramref name="more"/>: due messages had to wait for a place.
    /// </summary>
    public IReadOnlyList<string> Admit(IEnumerable<(string Id, DateTimeOffset Due)> due, DateTimeOffset now, out bool more)
    {
        foreach (var (id, at) in _woken.Where(w => now - w.Value > timeout).ToArray()) _woken.Remove(id);
        var free = limit - _woken.Count;
        // A max-heap of the earliest `free` candidates (priority negated: the latest due leaves first).
        var earliest = new PriorityQueue<string, long>();
        var candidates = 0;
        foreach (var (id, at) in due)
        {
            if (_woken.ContainsKey(id)) continue;
            candidates++;
            if (free <= 0) continue;
            earliest.Enqueue(id, -at.UtcTicks);
            if (earliest.Count > free) earliest.Dequeue();
        }
        more = candidates > earliest.Count;
        var admitted = new List<string>(earliest.Count);
        while (earliest.TryDequeue(out var id, out _)) admitted.Add(id);
        admitted.Reverse();
        foreach (var id in admitted) _woken[id] = now;
        return admitted;
    }

    /// <summary>The message's attempt ended, or it is done: its place is free.</summary>
    public void Returned(string id) => _woken.Remove(id);

    /// <summary>Everything woken may have been on a node that is gone: nothing is held back for it.</summary>
    public void Clear() => _woken.Clear();
}
