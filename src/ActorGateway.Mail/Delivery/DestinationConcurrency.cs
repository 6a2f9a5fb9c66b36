namespace ActorGateway.Mail.Delivery;

/// <summary>
/// How deliveries to one destination are shaped on one node (Postfix's destination concurrency
/// and KumoMTA's traffic shaping): connections at once, messages per connection, recipients
/// per transaction, when a failing destination is paused and for how long.
/// </summary>
/// <param name="InitialConcurrency">Connections at first, and again after a pause (Postfix: 5).</param>
/// <param name="MaxConcurrency">At most this many at once (Postfix's default_destination_concurrency_limit: 20).</param>
/// <param name="FailuresBeforePause">Failed deliveries in a row, with no success between, that pause the destination.</param>
/// <param name="Pause">How long a paused destination gets no new connection; its mail is deferred meanwhile.</param>
/// <param name="MessagesPerMinute">At most this many deliveries start in any 60 seconds (0: no limit).</param>
/// <param name="MessagesPerHour">At most this many deliveries start in any hour (0: no limit).</param>
public sealed record DestinationSettings(int InitialConcurrency, int MaxConcurrency, int MaxMessagesPerConnection, int MaxRecipientsPerTransaction,
    int FailuresBeforePause, TimeSpan Pause, int MessagesPerMinute = 0, int MessagesPerHour = 0)
{
    public static readonly DestinationSettings Default = new(5, 20, 100, 100, 10, TimeSpan.FromMinutes(1));
}

/// <summary>
/// Destinations served by one provider, known by their MX hosts (KumoMTA's site names): every
/// recipient domain whose best MX host ends in one of <paramref name="MxSuffixes"/> is one
/// destination named <paramref name="Name"/>, with one limit and one set of connections.
/// </summary>
public sealed record DestinationGroup(string Name, IReadOnlyList<string> MxSuffixes, DestinationSettings Settings)
{
    public bool Serves(string mxHost) => MxSuffixes.Any(s => mxHost.TrimEnd('.').EndsWith(s.TrimEnd('.'), StringComparison.OrdinalIgnoreCase));

    /// <summary>The destination of a recipient domain: the group of its best MX host, else the domain itself.</summary>
    public static string DestinationOf(string domain, NextHopResolution resolution, IReadOnlyList<DestinationGroup> groups)
    {
        if (resolution.Kind != ResolutionKind.Resolved || resolution.Hops.Count == 0) return domain.ToLowerInvariant();
        var best = resolution.Hops.Min(h => h.Preference);
        var hosts = resolution.Hops.Where(h => h.Preference == best).Select(h => h.Host).ToArray();
        return groups.FirstOrDefault(g => hosts.Any(g.Serves))?.Name ?? domain.ToLowerInvariant();
    }
}

/// <summary>
/// The adaptive connection limit of one destination: it starts at the initial concurrency, grows
/// by one for every "limit" successful deliveries (Postfix's positive feedback 1/concurrency) up to
/// the maximum, and shrinks by one on each failure that signals trouble at the receiver (no
/// connection, a broken one, 421, or every recipient deferred), never below one. After
/// FailuresBeforePause such failures in a row it pauses the destination (Postfix's dead
/// destination): no new delivery starts until the pause is over, then it starts again at the
/// initial concurrency.
/// </summary>
public sealed class DestinationConcurrency(DestinationSettings settings)
{
    double _credit;
    // Start times within the last minute and hour, for the message-rate limits (only kept when a limit is set).
    readonly Queue<DateTimeOffset> _lastMinute = new(), _lastHour = new();

    public DestinationSettings Settings => settings;
    public int Limit { get; private set; } = Math.Min(settings.InitialConcurrency, settings.MaxConcurrency);
    public int Active { get; private set; }
    public int FailuresInARow { get; private set; }
    public DateTimeOffset? PausedUntil { get; private set; }
    public string? LastError { get; private set; }
    public long Delivered { get; private set; }
    public long Failed { get; private set; }

    public bool IsPaused(DateTimeOffset now) => PausedUntil is { } until && now < until;

    /// <summary>Takes a connection slot if the limit allows and the destination is not paused.</summary>
    public bool TryStart(DateTimeOffset now)
    {
        if (PausedUntil is { } until)
        {
            if (now < until) return false;
            PausedUntil = null;
            Limit = Math.Min(settings.InitialConcurrency, settings.MaxConcurrency);
        }
        if (Active >= Limit || RateAllowsAt(now) > now) return false;
        Active++;
        if (settings.MessagesPerMinute > 0) _lastMinute.Enqueue(now);
        if (settings.MessagesPerHour > 0) _lastHour.Enqueue(now);
        return true;
    }

    /// <summary>When the message-rate limits let the next delivery start (now or earlier: at once).</summary>
    public DateTimeOffset RateAllowsAt(DateTimeOffset now) =>
        new[] { Window(_lastMinute, settings.MessagesPerMinute, TimeSpan.FromMinutes(1), now), Window(_lastHour, settings.MessagesPerHour, TimeSpan.FromHours(1), now) }.Max();

    static DateTimeOffset Window(Queue<DateTimeOffset> starts, int limit, TimeSpan window, DateTimeOffset now)
    {
        if (limit <= 0) return now;
        while (starts.Count > 0 && starts.Peek() <= now - window) starts.Dequeue();
        return starts.Count < limit ? now : starts.Peek() + window;
    }

    /// <summary>A delivery that held a slot has ended; <paramref name="failure"/> is what went wrong at the receiver, if anything.</summary>
    public void Finished(string? failure, DateTimeOffset now)
    {
        Active = Math.Max(0, Active - 1);
        if (failure is null)
        {
            Delivered++;
            FailuresInARow = 0;
            _credit += 1.0 / Limit;
            if (_credit >= 1)
            {
                _credit = 0;
                Limit = Math.Min(settings.MaxConcurrency, Limit + 1);
            }
            return;
        }
        Failed++;
        LastError = failure;
        _credit = 0;
        Limit = Math.Max(1, Limit - 1);
        if (++FailuresInARow >= settings.FailuresBeforePause)
        {
            PausedUntil = now + settings.Pause;
            FailuresInARow = 0;
        }
    }

    /// <summary>
    /// What in an outcome signals trouble at the receiver (null: it answered normally, also when it
    /// refused recipients for good): no connection or a broken one, TLS that could not be had, or
    /// every recipient deferred (a 421, a greylisting or rate-limiting 4xx).
    /// </summary>
    public static string? TroubleIn(DeliveryOutcome outcome) =>
        outcome.Recipients.Count > 0 && outcome.Recipients.All(r => r.Status == RecipientStatus.Deferred)
            ? outcome.Recipients[0].Diagnostic
            : null;
}
