using System.Net;
using ActorGateway.Mail.Blacklists;
using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Routing;
using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;
using Akka.Event;
using Akka.Persistence;

namespace ActorGateway.Node.Monitor;

/// <summary>
/// Watches the gateway's own egress addresses on DNS blacklists (one instance for the cluster,
/// a persistent singleton). At each slot of the schedule (default 05:00 Europe/Berlin) and on
/// demand it looks up every pool address of every member in every configured zone. A new
/// listing is journaled, the operations mailbox is told, a removal is requested from the
/// zone's provider, and the address goes into the replicated set of listed addresses, which
/// takes a good gateway out of the good pool (a listed bad gateway is reported and keeps
/// sending). A delisting is journaled, told, and the address returns. The journal also holds
/// which slot was checked last, so after a failover the monitor on the next node neither
/// skips a slot nor runs one twice.
/// </summary>
public sealed class BlacklistMonitor : ReceivePersistentActor, IWithTimers
{
    sealed record SlotDue(DateTimeOffset Slot);
    sealed record CheckFinished(DateTimeOffset? Slot, IReadOnlyList<DnsblResult> Results);
    sealed record CheckFailed(DateTimeOffset? Slot, string Reason);
    sealed record SideEffectDone(string? Problem);

    readonly BlacklistSettings _settings;
    readonly DnsblChecker _checker;
    readonly GatewayMail _mail;
    readonly RemovalRequester _removal;
    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly Dictionary<(string Address, string Zone), AddressListed> _current = new();
    readonly List<BlacklistHistoryEntry> _history = [];
    DateTimeOffset? _lastSlot, _nextSlot;
    bool _checking;

    public ITimerScheduler Timers { get; set; } = null!;
    public override string PersistenceId => "blacklist-monitor";

    public static Props Props(BlacklistSettings settings, DnsblChecker checker, GatewayMail mail, RemovalRequester removal) =>
        Akka.Actor.Props.Create(() => new BlacklistMonitor(settings, checker, mail, removal));

    public BlacklistMonitor(BlacklistSettings settings, DnsblChecker checker, GatewayMail mail, RemovalRequester removal)
    {
        _settings = settings; _checker = checker; _mail = mail; _removal = removal;

        Recover<SlotChecked>(e => _lastSlot = e.Slot);
        Recover<AddressListed>(Apply);
        Recover<AddressDelisted>(Apply);
        Recover<RecoveryCompleted>(_ =>
        {
            _log.Info("blacklist monitor running on {0}: schedule {1}, {2} zone(s), {3} current listing(s), {4} in the history, last slot {5}",
                Cluster.Get(Context.System).SelfAddress, _settings.Schedule.Description, _settings.Zones.Count, _current.Count, _history.Count,
                _lastSlot?.ToString("O") ?? "none");
            PublishListed();
            ScheduleNext();
        });

        Command<SlotDue>(d => StartCheck(d.Slot));
        Command<RunBlacklistCheck>(_ => { StartCheck(null); Sender.Tell(new Status.Success("started")); });
        Command<CheckFinished>(Finish);
        Command<GetBlacklistStatus>(_ => Sender.Tell(new BlacklistStatus(_lastSlot, _nextSlot, WatchedAddresses().Select(a => a.ToString()).ToArray(),
            _current.Values.ToArray(), _history.ToArray())));
        Command<CheckFailed>(f =>
        {
            // The slot stays unchecked: the next schedule pass catches it up.
            _checking = false;
            _log.Warning("blacklist check {0} failed: {1}; retrying in 5 minutes", f.Slot?.ToString("O") ?? "on demand", f.Reason);
            if (f.Slot is { } slot) Timers.StartSingleTimer("slot", new SlotDue(slot), TimeSpan.FromMinutes(5));
        });
        Command<SideEffectDone>(d => { if (d.Problem is not null) _log.Warning("blacklist: {0}", d.Problem); });
        Command<UpdateSuccess>(_ => { });
        Command<UpdateTimeout>(_ => _log.Warning("blacklist: the listed addresses reached only some nodes so far (gossip completes it)"));
    }

    // ---- schedule: each slot once; a slot missed while no monitor ran is caught up once ----

    void ScheduleNext()
    {
        var now = DateTimeOffset.UtcNow;
        if (_lastSlot is { } last && _settings.Schedule.LatestDue(last, now) is { } missed)
        {
            _log.Info("blacklist: slot {0} was not checked yet, checking now", missed.ToString("O"));
            Self.Tell(new SlotDue(missed));
            return;
        }
        _nextSlot = _settings.Schedule.Next(_lastSlot is { } l && l > now ? l : now);
        Timers.StartSingleTimer("slot", new SlotDue(_nextSlot.Value), _nextSlot.Value - now);
    }

    // ---- a check ----

    IReadOnlyList<IPAddress> WatchedAddresses()
    {
        var members = Cluster.Get(Context.System).State.Members.SelectMany(EgressAddresses.Of).Select(e => e.Address);
        return members.Concat(_settings.ExtraAddresses).Distinct().Select(IPAddress.Parse).ToArray();
    }

    void StartCheck(DateTimeOffset? slot)
    {
        if (_checking) return;
        _checking = true;
        var addresses = WatchedAddresses();
        _log.Info("blacklist check {0}: {1} address(es) [{2}] in {3} zone(s)", slot?.ToString("O") ?? "on demand", addresses.Count,
            string.Join(", ", addresses), _settings.Zones.Count);
        var lookups = addresses.SelectMany(a => _settings.Zones.Select(z => _checker.CheckAsync(a, z))).ToArray();
        Task.WhenAll(lookups).PipeTo(Self, success: results => new CheckFinished(slot, results), failure: e => new CheckFailed(slot, e.Message));
    }

    void Finish(CheckFinished check)
    {
        _checking = false;
        var events = new List<object>();
        foreach (var r in check.Results)
        {
            var key = (r.Address, r.Zone);
            switch (r.Answer)
            {
                case DnsblAnswer.Listed when !_current.ContainsKey(key):
                    events.Add(new AddressListed(r.Address, r.Zone, r.ReturnCode, r.Reason, DateTimeOffset.UtcNow));
                    break;
                case DnsblAnswer.NotListed when _current.ContainsKey(key):
                    events.Add(new AddressDelisted(r.Address, r.Zone, DateTimeOffset.UtcNow));
                    break;
                case DnsblAnswer.Refused:
                    _log.Warning("blacklist: {0} refused the query for {1} (code {2}); not counted as a listing", r.Zone, r.Address, r.ReturnCode);
                    break;
                case DnsblAnswer.Failed:
                    _log.Warning("blacklist: {0} could not be asked about {1}: {2}", r.Zone, r.Address, r.Reason);
                    break;
            }
        }
        if (check.Slot is { } slot) events.Add(new SlotChecked(slot, DateTimeOffset.UtcNow));
        _log.Info("blacklist check {0} done: {1} listed, {2} new, {3} cleared", check.Slot?.ToString("O") ?? "on demand",
            check.Results.Count(r => r.Answer == DnsblAnswer.Listed), events.OfType<AddressListed>().Count(), events.OfType<AddressDelisted>().Count());
        if (events.Count == 0) { ScheduleNext(); return; }

        // Each change is in the journal before anyone is told, so a takeover never tells twice.
        PersistAll(events, e =>
        {
            switch (e)
            {
                case AddressListed l: Apply(l); break;
                case AddressDelisted d: Apply(d); break;
                case SlotChecked s: _lastSlot = s.Slot; break;
            }
            if (!ReferenceEquals(e, events[^1])) return;
            // The pools first, so that the notifications already avoid a listed address.
            PublishListed();
            foreach (var l in events.OfType<AddressListed>()) Announce(l);
            foreach (var d in events.OfType<AddressDelisted>()) Announce(d);
            ScheduleNext();
        });
    }

    // ---- telling operations, the provider, and the pools ----

    void Announce(AddressListed l)
    {
        var pools = PoolsOf(l.Address);
        var consequence = pools.Contains(Pools.Good)
            ? "It is taken out of the good pool until it is clear; good mail leaves through the other good gateways (or waits if none is left)."
            : "It is a bad-pool address: it keeps sending.";
        _log.Warning("blacklist: {0} ({1}) LISTED on {2}: code {3}, reason: {4}", l.Address, string.Join(",", pools), l.Zone, l.ReturnCode, l.Reason);
        Notify($"[ActorGateway] {l.Address} listed on {l.Zone}",
            $"The gateway address {l.Address} (pool {string.Join(", ", pools)}) is listed on {l.Zone} since {l.At:u}.\n" +
            $"Return code: {l.ReturnCode}\nReason given: {l.Reason}\n\n{consequence}\nA removal request has been filed where the zone allows one.\n");
        var zone = _settings.Zones.First(z => z.Zone == l.Zone);
        var request = new RemovalRequest(l.Address, l.Zone, l.ReturnCode, l.Reason, _settings.NotificationSender, l.At);
        if (!string.IsNullOrEmpty(zone.RemovalMailbox))
            Notify($"Removal request: {l.Address} on {l.Zone}",
                $"Please remove {l.Address} from {l.Zone}. It is an outbound mail gateway address (return code {l.ReturnCode}, " +
                $"reason given: {l.Reason}); the cause has been looked into.\nContact: {_settings.NotificationSender}\n", zone.RemovalMailbox);
        if (!string.IsNullOrEmpty(zone.RemovalUrl))
            _removal.PostAsync(zone.RemovalUrl, request).PipeTo(Self,
                success: () => { return new SideEffectDone(null); },
                failure: e => new SideEffectDone($"removal request for {l.Address} to {zone.RemovalUrl} failed: {e.Message}"));
        _log.Info("blacklist: removal of {0} requested from {1} ({2})", l.Address, l.Zone,
            string.Join(", ", new[] { zone.RemovalUrl, zone.RemovalMailbox }.Where(x => !string.IsNullOrEmpty(x))) is { Length: > 0 } where ? where : "no removal channel configured");
    }

    void Announce(AddressDelisted d)
    {
        _log.Info("blacklist: {0} no longer listed on {1}; back in its pool", d.Address, d.Zone);
        Notify($"[ActorGateway] {d.Address} delisted from {d.Zone}", $"The gateway address {d.Address} is no longer listed on {d.Zone} ({d.At:u}). It is back in its pool.\n");
    }

    IReadOnlyList<string> PoolsOf(string address) =>
        Cluster.Get(Context.System).State.Members.SelectMany(EgressAddresses.Of).Where(e => e.Address == address).Select(e => e.Pool).Distinct().ToArray();

    /// <summary>A mail from the gateway, queued like any other and sent through the good pool.</summary>
    void Notify(string subject, string text, string? to = null)
    {
        to ??= _settings.OperationsMailbox;
        if (string.IsNullOrEmpty(to)) return;
        var queueId = ActorGateway.Mail.Queue.QueueId.New();
        _mail.QueueNoticeAsync(queueId, _settings.NotificationSender, to, subject, text)
            .ContinueWith(t => new SideEffectDone(t.IsCompletedSuccessfully && t.Result is null ? null : $"notification '{subject}' to <{to}> not queued"))
            .PipeTo(Self);
        _log.Info("blacklist: notification '{0}' to <{1}> queued as {2}", subject, to, queueId);
    }

    void PublishListed()
    {
        var listed = _current.Keys.Select(k => k.Address).Distinct().ToHashSet();
        var replicator = DistributedData.Get(Context.System).Replicator;
        var node = Cluster.Get(Context.System).SelfUniqueAddress;
        replicator.Tell(Dsl.Update(EgressAddresses.ListedKey, ORSet<string>.Empty, new WriteMajority(TimeSpan.FromSeconds(5)), set =>
        {
            foreach (var gone in set.Elements.Where(a => !listed.Contains(a))) set = set.Remove(node, gone);
            foreach (var a in listed.Where(a => !set.Contains(a))) set = set.Add(node, a);
            return set;
        }));
    }

    // ---- state ----

    void Apply(AddressListed e)
    {
        _current[(e.Address, e.Zone)] = e;
        _history.Add(new BlacklistHistoryEntry(e.Address, e.Zone, e.ReturnCode, e.Reason, e.At, null));
        if (_history.Count > 1000) _history.RemoveAt(0);
    }

    void Apply(AddressDelisted e)
    {
        _current.Remove((e.Address, e.Zone));
        var open = _history.FindLastIndex(h => h.Address == e.Address && h.Zone == e.Zone && h.DelistedAt is null);
        if (open >= 0) _history[open] = _history[open] with { DelistedAt = e.At };
    }
}
