namespace ActorGateway.Smtp.Hosting;

/// <summary>
/// Postfix-style stress mode: once the open connections reach a share of max-connections,
/// every session's command and data timeouts drop to seconds. Sessions look up their timeout
/// at every deadline check instead of fixing it when a read begins, so a session that has sat
/// idle for minutes is cut as soon as stress begins, not when its long timeout runs out.
/// </summary>
public sealed class StressMode
{
    readonly SmtpServerOptions _options;
    volatile bool _active;

    public StressMode(SmtpServerOptions options)
    {
        _options = options;
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

    public TimeSpan CommandTimeout => _active ? Min(_options.StressCommandTimeout, _options.CommandTimeout) : _options.CommandTimeout;
    public TimeSpan DataTimeout => _active ? Min(_options.StressDataTimeout, _options.DataTimeout) : _options.DataTimeout;

    static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
