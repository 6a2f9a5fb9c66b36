namespace ActorGateway.Smtp.Hosting;

/// <summary>
/// Postfix-style stress mode: once the open connections reach a share of max-connections,
/// every session's command and data timeouts drop to seconds. Sessions look up their timeout
/// at every deadline check instead of fixing it when a read begins, so a session that has sat
/// idle for minutes is cut as soon as stress begins, not when its long timeout runs out.
/// </summary>
public sealed class StressMode
{
    readonly SessionTimeouts _normal, _stress;
    volatile bool _active;

    public StressMode(SmtpServerOptions options)
    {
        _normal = new SessionTimeouts(options.CommandTimeout, options.DataTimeout);
        _stress = new SessionTimeouts(Min(options.StressCommandTimeout, options.CommandTimeout), Min(options.StressDataTimeout, options.DataTimeout));
        Threshold = options.StressThreshold <= 0 ? int.MaxValue
            : Math.Max(1, (int)Math.Ceiling(options.MaxConnections * options.StressThreshold));
    }

    /// <summary>Open connections at which stress begins (int.MaxValue: never).</summary>
    public int Threshold { get; }
    public bool Active => _active;

    /// <summary>
    /// Open connections below which stress ends: lower than where it begins, so that the first
    /// sessions stress cuts do not end it while the others keep their long timeouts.
    /// </summary>
    public int EndBelow => Threshold == int.MaxValue ? int.MaxValue : Math.Max(1, Threshold * 3 / 4);

    /// <summary>Sets the state from the current connection count; true when it changed.</summary>
    public bool Update(int openConnections)
    {
        var active = _active ? openConnections >= EndBelow : openConnections >= Threshold;
        if (active == _active) return false;
        _active = active;
        return true;
    }

    /// <summary>
    /// The timeouts now. A sweep over all sessions takes this once, so that sessions it closes
    /// (and so the count falling) cannot end stress halfway through the sweep.
    /// </summary>
    public SessionTimeouts Current => _active ? _stress : _normal;

    static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
