using System.Net;
using ActorGateway.Mail.Blacklists;
using ActorGateway.Mail.Checks;
using ActorGateway.Mail.Delivery;
using ActorGateway.Mail.Dns;
using ActorGateway.Mail.Scanning;
using ActorGateway.Mail.Signing;
using ActorGateway.Mail.Tenants;
using ActorGateway.Node.Configuration;
using ActorGateway.Node.Delivery;
using ActorGateway.Node.Events;
using ActorGateway.Node.Ingress;
using ActorGateway.Node.Membership;
using ActorGateway.Node.Monitor;
using ActorGateway.Node.Operations;
using ActorGateway.Node.Pipeline;
using ActorGateway.Node.RateLimit;
using ActorGateway.Node.Routing;
using ActorGateway.Node.Queue;
using ActorGateway.Node.Retention;
using ActorGateway.Node.Storage;
using ActorGateway.Smtp.Hosting;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Node;

/// <summary>
/// Builds one gateway node: SMTP endpoints on Kestrel and the actor system (cluster, message
/// entities, queue sweeper, delivery) in one generic host, from the HOCON configuration.
/// </summary>
public static class GatewayNode
{
    /// <summary>
    /// The node's roles plus one per pool it sends for, naming its egress address there
    /// ("egress-good:192.0.2.10"), so that the whole cluster knows which address is whose.
    /// </summary>
    static Config EgressRoles(Config config, GatewaySettings settings)
    {
        var roles = config.GetStringList("akka.cluster.roles", []).ToList();
        foreach (var (pool, source) in new[] { (Pools.Good, settings.Pools.GoodSource), (Pools.Bad, settings.Pools.BadSource) })
            if (source is not null && roles.Contains(Pools.RoleOf(pool))) roles.Add(EgressAddresses.Role(pool, source));
        return ConfigurationFactory.ParseString($"akka.cluster.roles = [{string.Join(", ", roles.Select(r => $"\"{r}\""))}]");
    }

    /// <param name="reload">Reads the configuration files again (on SIGHUP); null = no reload.</param>
    public static WebApplication Build(Config config, Func<Config>? reload = null)
    {
        var settings = GatewayConfig.Read(config);
        StorageSetup.Prepare(settings);

        // Configuration is HOCON; the host's own sources (appsettings.json, environment) stay, but
        // without reload-on-change: that watches the working directory recursively, and with the
        // queue's database under it, every journal write woke the watcher (measured: 8 % of the CPU samples).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        // The simple console format (or JSON lines), written in batches (see BatchingConsoleLoggerProvider).
        builder.Logging.AddBatchingConsole(() => new BatchingConsoleLoggerProvider(settings.LogFormat));
        // Under systemd (Type=notify): READY=1 once the host has started, STOPPING=1 on shutdown; nothing elsewhere.
        builder.Services.AddSystemd();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        // The operations API speaks JSON with enum names ("Deferred", not 1).
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));

        var dns = DnsResolver.Create(settings.DnsServers, settings.DnsTimeout);
        // Signatures are loaded now: a bad signature file is a start-up error, not a silent pass.
        IVirusScanner scanner = settings.Antivirus.Engine == "clamd"
            ? new ClamdScanner(DnsResolver.ParseEndpoint(settings.Antivirus.Clamd), settings.Antivirus.Timeout)
            : new BuiltInVirusScanner(ClamAvSignatures.Load(settings.Antivirus.SignatureDirectory));
        ISpamScorer scorer = settings.Antispam.Engine == "rspamd"
            ? new RspamdScorer(new HttpClient { Timeout = settings.Antispam.Timeout }, new Uri(settings.Antispam.RspamdUrl))
            : new BuiltInSpamScorer(settings.Antispam.Rules);
        var dkim = new DkimSigning(settings.DkimKeys, settings.DkimHeaders);
        var tenants = new TenantDirectory(settings.Tenants);
        // Node-wide, across connections and configuration reloads (cache entries carry the stored hash).
        var loginFailures = new LoginFailureCounter(settings.AuthFailures, TimeProvider.System);
        var verifiedLogins = new VerifiedLoginCache(settings.AuthCacheSize);
        var records = new DeliveryRecordStore(settings);
        records.CreateTablesAsync().GetAwaiter().GetResult();
        var pending = new PendingQueueStore(settings);
        pending.CreateTableAsync().GetAwaiter().GetResult();
        StorageHealth.CreateTableAsync(settings.Storage, settings.ConnectionString).GetAwaiter().GetResult();
        IActorRef? region = null, intake = null, limiters = null, sweeper = null, monitor = null, tenantEvents = null;
        var agents = new List<IActorRef>();
        var overrides = new RateLimitOverrides();
        IActorRef Region() => region ?? throw new InvalidOperationException("the actor system is not started yet");
        IActorRef Intake() => intake ?? throw new InvalidOperationException("the actor system is not started yet");
        IActorRef Limiters() => limiters ?? throw new InvalidOperationException("the actor system is not started yet");
        // Mail the gateway writes itself (NDRs, virus notices, blacklist notices), queued through this node's intake.
        var mail = new GatewayMail(Intake, settings.ServerName);
        // TLS reports count the sessions of MTA-STS domains on this node and send them on the schedule (and on request).
        var tlsSessions = settings.Delivery.TlsRpt.Enabled && settings.Delivery.MtaSts.Enabled ? new ActorGateway.Mail.Delivery.TlsRpt.TlsSessionCounts() : null;
        if (tlsSessions is not null)
        {
            var rpt = settings.Delivery.TlsRpt;
            builder.Services.AddSingleton(sp => new TlsReportSender(tlsSessions, rpt, settings.ServerName, dns,
                ActorGateway.Mail.Delivery.GatewayHttpClient.Create(dns, settings.Delivery.Trust, TimeSpan.FromSeconds(30)), mail,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("ActorGateway.Delivery.TlsRpt")));
            builder.Services.AddHostedService(sp => new TlsReportSchedule(sp.GetRequiredService<TlsReportSender>(),
                new ActorGateway.Mail.Blacklists.CheckSchedule(rpt.Schedule, rpt.TimeZone), sp.GetRequiredService<ILoggerFactory>().CreateLogger("ActorGateway.Delivery.TlsRpt")));
        }
        // Tenants' delivery events for their webhooks: told to each tenant's event queue, never awaited.
        var events = new DeliveryEvents(() => tenants, () => tenantEvents);
        // One per node, shared by ingress (which reports its journal writes) and /health/ready.
        StorageHealth? storage = null;
        StorageHealth Storage(ILoggerFactory loggers) =>
            storage ??= new StorageHealth(settings.Storage, settings.ConnectionString, settings.ServerName, loggers.CreateLogger("ActorGateway.Storage"));

        builder.Services.AddAkka("actorgateway", (akka, sp) =>
        {
            akka.AddHocon(StorageSetup.WithPersistence(config, settings), HoconAddMode.Prepend);
            akka.AddHocon(EgressRoles(config, settings), HoconAddMode.Prepend);
            akka.ConfigureLoggers(l => { l.ClearLoggers(); l.AddLoggerFactory(); });
            akka.WithActors((system, registry) =>
            {
                var log = sp.GetRequiredService<ILoggerFactory>().CreateLogger("ActorGateway.Node");
                var cluster = Cluster.Get(system);
                if (config.GetStringList("akka.cluster.seed-nodes", []).Count == 0 && settings.SelfJoin)
                    cluster.Join(cluster.SelfAddress);

                // DANE needs the resolver's word on which answers DNSSEC validated: delivery asks with the DO bit.
                var deliveryDns = settings.Delivery.Dane ? DnsResolver.Create(settings.DnsServers, settings.DnsTimeout, requestDnssec: true) : dns;
                var resolver = new NextHopResolver(deliveryDns, settings.Delivery.Routes, settings.Delivery.Port,
                    settings.Delivery.Dane ? new DaneLookup(deliveryDns, settings.Delivery.Port) : null);
                // A node with a pool's role sends that pool's mail, bound to the pool's source address.
                foreach (var (pool, source) in new[] { (Pools.Good, settings.Pools.GoodSource), (Pools.Bad, settings.Pools.BadSource) })
                    if (cluster.SelfRoles.Contains(Pools.RoleOf(pool)))
                        agents.Add(system.ActorOf(DeliveryAgent.Props(pool, new DeliveryContext(resolver, source is null ? null : IPAddress.Parse(source),
                            settings.Delivery.HeloName, settings.Delivery.ConnectTimeout, settings.Delivery.CommandTimeout,
                            settings.Delivery.IdleConnectionTimeout, settings.Delivery.SendTimeout, settings.Delivery.Destination,
                            settings.Delivery.Destinations, settings.Delivery.Groups, settings.Delivery.Trust)), PoolRouter.AgentName(pool)));
                // Every node routes each pool's deliveries to the members that have its role.
                var pools = new[] { Pools.Good, Pools.Bad }.ToDictionary(p => p, p => system.ActorOf(PoolRouter.Props(p), PoolRouter.Name(p)));

                var services = new MessageServices(pools, mail, settings.Delivery.Retry,
                    new DeliveryTimeouts(settings.Delivery.QueueWait, settings.Delivery.SendTimeout), settings.TlsPolicy, settings.Pools.WaitInterval, records)
                {
                    MtaSts = MtaStsSetup.Create(settings.Delivery, dns, resolver, sp.GetRequiredService<ILoggerFactory>(), tlsSessions),
                    Events = events,
                    // The sweeper must have read the attempt (one sweep) and wakes what falls due before its next sweep.
                    ParkBeyond = 3 * settings.SweepInterval,
                };
                var sharding = ClusterSharding.Get(system);
                var shardingSettings = ClusterShardingSettings.Create(system);
                // Entities stop through StopEntity (not PoisonPill): never in the middle of a delivery.
                region = sharding.Start(MessageExtractor.RegionName, id => MessageActor.Props(id, services),
                    shardingSettings, new MessageExtractor(100), sharding.DefaultShardAllocationStrategy(shardingSettings), MessageActor.StopEntity.Instance);
                registry.Register<MessageExtractor>(region);
                intake = system.ActorOf(MessageIntake.Props(Region, services), "intake");
                limiters = ClusterSharding.Get(system).Start(TenantRateLimiter.RegionName, TenantRateLimiter.Props,
                    ClusterShardingSettings.Create(system), new RateLimitExtractor(30));
                system.ActorOf(ClusterEventLog.Props(), "cluster-events");
                var poster = new WebhookPoster(new HttpClient { Timeout = Timeout.InfiniteTimeSpan }, settings.Webhooks.Timeout);
                tenantEvents = ClusterSharding.Get(system).Start(TenantEvents.RegionName,
                    tenant => TenantEvents.Props(tenant, () => tenants, poster, settings.Webhooks.Backoff),
                    ClusterShardingSettings.Create(system), new TenantEventsExtractor(30));
                system.ActorOf(TenantEventsWaker.Props(() => tenants, tenantEvents, settings.Webhooks.WakeInterval), "tenant-events-waker");

                // A persistent actor stops when a journal write or its recovery fails (the database is down,
                // the disk is full), and a singleton manager does not start a stopped singleton again:
                // without a supervisor that restarts it, the queue would not be swept until the node restarts.
                // At most 3 s between restarts: each is one recovery (which an open circuit breaker fails
                // without a database call), and the longest pause is how long after storage returns the
                // sweeper may still wait to run again.
                static Props Restarting(Props props, string name) =>
                    Akka.Pattern.BackoffSupervisor.Props(props, name, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), 0.2);
                system.ActorOf(ClusterSingletonManager.Props(Restarting(QueueSweeper.Props(region, new QueueJournalReader(settings), pending, settings.SweepInterval, services.Timeouts.Attempt, records,
                    settings.Retention, settings.QueueActiveLimit, services.Retry, settings.QueueDeleteInterval), "sweeper"), PoisonPill.Instance, ClusterSingletonManagerSettings.Create(system)), "queue-sweeper");
                sweeper = system.ActorOf(ClusterSingletonProxy.Props("/user/queue-sweeper", ClusterSingletonProxySettings.Create(system)), "queue-sweeper-proxy");
                system.ActorOf(overrides.Subscriber(), "rate-limit-overrides");

                system.ActorOf(ClusterSingletonManager.Props(Restarting(BlacklistMonitor.Props(settings.Blacklists, new DnsblChecker(dns), mail,
                    new RemovalRequester(new HttpClient { Timeout = TimeSpan.FromSeconds(30) })), "monitor"), PoisonPill.Instance,
                    ClusterSingletonManagerSettings.Create(system)), "blacklist-monitor");
                monitor = system.ActorOf(ClusterSingletonProxy.Props("/user/blacklist-monitor", ClusterSingletonProxySettings.Create(system)), "blacklist-monitor-proxy");

                cluster.RegisterOnMemberUp(() => log.LogInformation("ActorGateway node {Address} ready: cluster member up, roles {Roles}",
                    cluster.SelfAddress, string.Join(",", cluster.SelfRoles)));
            });
        });

        SmtpServer? smtp = null;
        builder.WebHost.ConfigureKestrel((_, kestrel) =>
        {
            var loggers = kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>();
            var virusGate = new VirusGate(scanner, settings.Antivirus.OnFailure, mail, loggers.CreateLogger("ActorGateway.Scanning"));
            var spam = new SpamClassifier(scorer, settings.Antispam.Threshold, settings.Antispam.OnFailure, loggers.CreateLogger("ActorGateway.Scanning"));
            var rateLimit = new RateLimitGate(Limiters, overrides, settings.RateLimitTimeout, loggers.CreateLogger("ActorGateway.RateLimit"));
            var hooks = new GatewaySmtpHooks(() => tenants, new SenderDomainCheck(dns), rateLimit, virusGate, spam, dkim, Intake, settings.ServerName,
                settings.Trace, settings.StoreTimeout, Storage(loggers),
                new LoginGate(loginFailures, verifiedLogins, TimeProvider.System, loggers.CreateLogger("ActorGateway.Login")),
                loggers.CreateLogger("ActorGateway.Ingress"), events);
            smtp = new SmtpServer(settings.Smtp, hooks.Hooks, loggers);
            kestrel.ListenSmtp(smtp);
            if (settings.Operations.Port > 0) kestrel.Listen(IPAddress.Parse(settings.Operations.Address), settings.Operations.Port);
        });

        var app = builder.Build();
        app.Lifetime.ApplicationStopping.Register(() => smtp?.BeginShutdown());
        if (settings.Operations.Port > 0)
        {
            IActorRef Started(IActorRef? r) => r ?? throw new InvalidOperationException("the actor system is not started yet");
            OperationsApi.Map(app, new OperationsContext(app.Services.GetRequiredService<ActorSystem>(), Region, Limiters, () => Started(sweeper),
                () => Started(monitor), () => tenants, overrides, Storage(app.Services.GetRequiredService<ILoggerFactory>()), new OperationsAccess(settings.Operations.Token, settings.Operations.ReadToken), records, () => agents, () => smtp,
                app.Services.GetService<TlsReportSender>()),
                settings.Operations.Port);
        }
        if (reload is not null)
        {
            // SIGHUP (systemctl reload): tenants, their users, domains and rate limits change without a restart;
            // sessions already running keep the tenant they started with.
            var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ActorGateway.Node");
            var hup = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                try
                {
                    var fresh = GatewayConfig.Read(reload());
                    tenants = new TenantDirectory(fresh.Tenants);
                    log.LogInformation("configuration reloaded: {Count} tenant(s): {Tenants}", fresh.Tenants.Count,
                        string.Join(", ", fresh.Tenants.Select(t => t.RateLimit.Enabled ? $"{t.Id} (limit {t.RateLimit.PerMinute}/min)" : t.Id)));
                }
                catch (Exception e)
                {
                    log.LogError("configuration reload failed, the running configuration stays: {Error}", e.Message);
                }
            });
            app.Lifetime.ApplicationStopped.Register(hup.Dispose);
        }
        return app;
    }
}
