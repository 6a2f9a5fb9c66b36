using System.Net;
using ActorGateway.Mail.Delivery;
using ActorGateway.Mail.Tenants;
using ActorGateway.Smtp.Hosting;
using ActorGateway.Smtp.Protocol;
using Akka.Configuration;

namespace ActorGateway.Node.Configuration;

/// <summary>
/// Loads the HOCON: the defaults shipped in <c>hocon/</c> (akka.conf, gateway.conf), then each
/// <c>--config FILE</c> in order, later files overriding earlier ones.
/// </summary>
public static class GatewayConfig
{
    static string ShippedDirectory => Path.Combine(AppContext.BaseDirectory, "hocon");

    /// <summary>The shipped files of a site of the cluster: the shared cluster.conf, then the site's own.</summary>
    public static IEnumerable<string> SiteFiles(string site) =>
        [Path.Combine(ShippedDirectory, "cluster.conf"), Path.Combine(ShippedDirectory, site + ".conf")];

    public static Config Load(IEnumerable<string> files)
    {
        var defaults = ShippedDirectory;
        var config = ConfigurationFactory.Empty;
        foreach (var file in new[] { Path.Combine(defaults, "akka.conf"), Path.Combine(defaults, "gateway.conf") }.Concat(files))
        {
            if (!File.Exists(file)) throw new FileNotFoundException($"configuration file {file} not found", file);
            config = ConfigurationFactory.ParseString(File.ReadAllText(file)).WithFallback(config);
        }
        return config;
    }

    public static GatewaySettings Read(Config config)
    {
        var g = config.GetConfig("gateway") ?? throw new InvalidOperationException("no gateway section in the configuration");
        var serverName = g.GetString("smtp.server-name", "");
        if (serverName.Length == 0) serverName = Dns.GetHostName();
        var dataDir = Path.GetFullPath(g.GetString("data-dir", "data"));

        var provider = g.GetString("storage.provider", "sqlite").ToLowerInvariant() switch
        {
            "sqlite" => StorageProvider.Sqlite,
            "postgresql" or "postgres" => StorageProvider.PostgreSql,
            var other => throw new InvalidOperationException($"gateway.storage.provider '{other}' is not sqlite or postgresql"),
        };
        var connection = g.GetString("storage.connection-string", "");
        if (connection.Length == 0 && g.GetString("storage.connection-string-env", "") is { Length: > 0 } env)
            connection = Environment.GetEnvironmentVariable(env) ?? "";
        if (connection.Length == 0)
        {
            if (provider == StorageProvider.PostgreSql) throw new InvalidOperationException("gateway.storage: postgresql needs a connection string");
            connection = $"Data Source={Path.Combine(dataDir, "gateway.db")}";
        }

        var smtp = g.GetConfig("smtp");
        var smtpOptions = new SmtpServerOptions
        {
            ServerName = serverName,
            MaxMessageSize = smtp.GetLong("max-message-size", 26214400),
            MaxRecipients = smtp.GetInt("max-recipients", 100),
            MaxCommandLineLength = smtp.GetInt("max-command-line-length", 512),
            MaxTextLineLength = smtp.GetInt("max-text-line-length", 1000),
            TextLineTolerance = smtp.GetInt("text-line-tolerance", 0),
            MaxJunkCommands = smtp.GetInt("max-junk-commands", 100),
            MaxBadCommands = smtp.GetInt("max-bad-commands", 20),
            CommandTimeout = smtp.GetTimeSpan("command-timeout", TimeSpan.FromMinutes(5)),
            DataTimeout = smtp.GetTimeSpan("data-timeout", TimeSpan.FromMinutes(3)),
            MaxConnections = smtp.GetInt("max-connections", 1000),
            MaxConnectionsPerClient = smtp.GetInt("max-connections-per-client", 50),
            Endpoints = smtp.GetValue("endpoints").GetArray()
                .Select(v => ReadEndpoint(AsConfig(v), ParseBareLineEndings(smtp.GetString("bare-line-endings", "normalize"), "gateway.smtp"))).ToArray(),
        };

        var d = g.GetConfig("delivery");
        var routes = Items(d, "routes").ToDictionary(kv => kv.Key.ToLowerInvariant(), kv => kv.Value.GetString());
        var delivery = new DeliverySettings(
            d.GetInt("port", 25), routes,
            d.GetString("helo-name", "") is { Length: > 0 } helo ? helo : serverName,
            d.GetTimeSpan("connect-timeout", TimeSpan.FromSeconds(30)),
            d.GetTimeSpan("command-timeout", TimeSpan.FromMinutes(2)),
            d.GetTimeSpan("idle-connection-timeout", TimeSpan.FromSeconds(30)),
            new RetrySchedule(d.GetValue("retry-delays").GetArray().Select(v => v.GetTimeSpan()).ToArray(), d.GetTimeSpan("max-lifetime", TimeSpan.FromDays(5))),
            d.GetTimeSpan("queue-wait", TimeSpan.FromMinutes(2)),
            ReadDestination(d.GetConfig("destination"), DestinationSettings.Default),
            Items(d, "destinations").ToDictionary(kv => kv.Key.ToLowerInvariant(),
                kv => ReadDestination(AsConfig(kv.Value), ReadDestination(d.GetConfig("destination"), DestinationSettings.Default)), StringComparer.OrdinalIgnoreCase),
            Items(d, "groups").Select(kv => new DestinationGroup(kv.Key, AsConfig(kv.Value).GetStringList("mx-suffixes", []).ToArray(),
                ReadDestination(AsConfig(kv.Value), ReadDestination(d.GetConfig("destination"), DestinationSettings.Default)))).ToArray());
        if (delivery.Retry.Delays.Count == 0) throw new InvalidOperationException("gateway.delivery.retry-delays must not be empty");
        if (delivery.Groups.FirstOrDefault(g => g.MxSuffixes.Count == 0) is { } empty)
            throw new InvalidOperationException($"gateway.delivery.groups.{empty.Name}: mx-suffixes must name at least one MX host suffix");
        foreach (var (name, dest) in delivery.Destinations.Prepend(new("(default)", delivery.Destination))
                     .Concat(delivery.Groups.Select(g => new KeyValuePair<string, DestinationSettings>(g.Name, g.Settings))))
            if (dest.InitialConcurrency < 1 || dest.MaxConcurrency < 1 || dest.MaxMessagesPerConnection < 1 || dest.MaxRecipientsPerTransaction < 1 || dest.FailuresBeforePause < 1)
                throw new InvalidOperationException($"gateway.delivery destination {name}: concurrency, messages, recipients and pause-after-failures must be at least 1");

        var tenants = Items(g, "tenants").Select(kv => ReadTenant(kv.Key, g.GetConfig($"tenants.{kv.Key}"))).ToArray();

        return new GatewaySettings(dataDir, serverName, g.GetBoolean("cluster.self-join", true), provider, connection, smtpOptions,
            smtp.GetTimeSpan("store-timeout", TimeSpan.FromSeconds(30)),
            g.GetTimeSpan("rate-limit.timeout", TimeSpan.FromSeconds(5)),
            g.GetStringList("dns.servers", []).ToArray(), g.GetTimeSpan("dns.timeout", TimeSpan.FromSeconds(3)), delivery,
            g.GetTimeSpan("queue.sweep-interval", TimeSpan.FromSeconds(30)), ReadAntivirus(g), ReadAntispam(g),
            new PoolSettings(NullIfEmpty(g.GetString("pools.good.source-address", "")), NullIfEmpty(g.GetString("pools.bad.source-address", "")),
                g.GetTimeSpan("pools.wait-interval", TimeSpan.FromSeconds(5))),
            ReadTlsPolicy(g),
            Items(g, "dkim.keys").Select(kv => ReadDkimKey(kv.Key, AsConfig(kv.Value))).ToArray(),
            g.HasPath("dkim.headers") ? g.GetStringList("dkim.headers").ToArray() : ActorGateway.Mail.Signing.DkimSigning.DefaultHeaders,
            tenants,
            ReadBlacklists(g, serverName),
            ReadOperations(g),
            new RetentionSettings(g.GetTimeSpan("retention.delivery-records", RetentionSettings.Default.DeliveryRecords),
                g.GetTimeSpan("retention.interval", RetentionSettings.Default.Interval))) { Trace = ReadTrace(smtp), LogFormat = ReadLogFormat(g),
                AuthFailures = ReadAuthFailures(smtp), AuthCacheSize = smtp.GetInt("auth-cache.size", 10_000) };
    }

    static ActorGateway.Node.Operations.OperationsSettings ReadOperations(Config g)
    {
        var o = g.GetConfig("operations");
        return new ActorGateway.Node.Operations.OperationsSettings(o?.GetString("address", "127.0.0.1") ?? "127.0.0.1", o?.GetInt("port", 0) ?? 0,
            Secret(o, "token"), Secret(o, "read-token"));
    }

    /// <summary>A secret named <paramref name="name"/>: read from <c>NAME-file</c>, else from the variable named by <c>NAME-env</c>; null when neither gives one.</summary>
    static string? Secret(Config? section, string name)
    {
        string? value = null;
        if (section?.GetString(name + "-file", "") is { Length: > 0 } file) value = File.ReadAllText(file).Trim();
        else if (section?.GetString(name + "-env", "") is { Length: > 0 } env) value = Environment.GetEnvironmentVariable(env);
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    static ActorGateway.Node.Monitor.BlacklistSettings ReadBlacklists(Config g, string serverName)
    {
        var b = g.GetConfig("blacklists");
        IPAddress[] Codes(Config z, string key) => z.GetStringList(key, []).Select(IPAddress.Parse).ToArray();
        var zones = b is null || !b.HasPath("zones") ? [] : b.GetValue("zones").GetArray().Select(v => AsConfig(v)).Select(z =>
            new ActorGateway.Mail.Blacklists.DnsblZone(z.GetString("zone"), Codes(z, "listed"), Codes(z, "refused"),
                NullIfEmpty(z.GetString("removal-url", "")), NullIfEmpty(z.GetString("removal-mailbox", "")))).ToArray();
        if (zones.Any(z => string.IsNullOrEmpty(z.Zone))) throw new InvalidOperationException("gateway.blacklists.zones: every zone needs a name");
        var sender = b?.GetString("notification-sender", "") is { Length: > 0 } s ? s : $"postmaster@{serverName}";
        return new ActorGateway.Node.Monitor.BlacklistSettings(zones,
            new ActorGateway.Mail.Blacklists.CheckSchedule(b?.GetString("schedule", "0 5 * * *") ?? "0 5 * * *", b?.GetString("time-zone", "Europe/Berlin") ?? "Europe/Berlin"),
            NullIfEmpty(b?.GetString("operations-mailbox", "") ?? ""), sender,
            b?.GetStringList("extra-addresses", []).ToArray() ?? []);
    }

    static ActorGateway.Mail.Signing.DkimKey ReadDkimKey(string domain, Config k)
    {
        var algorithm = k.GetString("algorithm", "rsa-sha256").ToLowerInvariant() switch
        {
            "rsa-sha256" => ActorGateway.Mail.Signing.DkimAlgorithm.RsaSha256,
            "ed25519-sha256" => ActorGateway.Mail.Signing.DkimAlgorithm.Ed25519Sha256,
            var o => throw new InvalidOperationException($"gateway.dkim.keys.{domain}: algorithm '{o}' is not rsa-sha256 or ed25519-sha256"),
        };
        var selector = k.GetString("selector", "");
        var key = k.GetString("key", "");
        if (selector.Length == 0 || key.Length == 0) throw new InvalidOperationException($"gateway.dkim.keys.{domain}: selector and key are required");
        return new ActorGateway.Mail.Signing.DkimKey(domain.ToLowerInvariant(), selector, algorithm, key);
    }

    static TlsPolicy ReadTlsPolicy(Config g)
    {
        if (!g.HasPath("tls-policy")) return TlsPolicy.None;
        var rules = g.GetValue("tls-policy").GetArray().Select(v => AsConfig(v)).Select((r, i) =>
        {
            var name = r.GetString("name", $"rule-{i + 1}");
            var sender = NullIfEmpty(r.GetString("sender-domain", "").ToLowerInvariant());
            var recipient = NullIfEmpty(r.GetString("recipient-domain", "").ToLowerInvariant());
            if (sender is null && recipient is null) throw new InvalidOperationException($"gateway.tls-policy {name}: needs sender-domain or recipient-domain");
            var level = r.GetString("level", "encrypt").ToLowerInvariant() switch
            {
                "encrypt" => TlsLevel.Encrypt, "verify" => TlsLevel.Verify,
                var o => throw new InvalidOperationException($"gateway.tls-policy {name}: level '{o}' is not encrypt or verify"),
            };
            var action = r.GetString("on-failure", "hold").ToLowerInvariant() switch
            {
                "hold" => TlsFailureAction.Hold, "reject" => TlsFailureAction.Reject,
                var o => throw new InvalidOperationException($"gateway.tls-policy {name}: on-failure '{o}' is not hold or reject"),
            };
            return new TlsRule(name, sender, recipient, level, action);
        }).ToArray();
        return new TlsPolicy(rules);
    }

    static AntispamSettings ReadAntispam(Config g)
    {
        var a = g.GetConfig("scanning.antispam");
        var engine = a.GetString("engine", "builtin").ToLowerInvariant();
        if (engine is not ("builtin" or "rspamd")) throw new InvalidOperationException($"gateway.scanning.antispam.engine '{engine}' is not builtin or rspamd");
        var rules = a.HasPath("rules")
            ? a.GetValue("rules").GetArray().Select(v => AsConfig(v)).Select(r => new ActorGateway.Mail.Scanning.SpamRule(
                r.GetString("name"), NullIfEmpty(r.GetString("header", "")),
                new System.Text.RegularExpressions.Regex(r.GetString("pattern"), System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1)),
                r.GetDouble("score"))).ToArray()
            : [];
        return new AntispamSettings(engine, a.GetString("rspamd-url", "http://127.0.0.1:11333"), a.GetDouble("threshold", 5.0),
            a.GetTimeSpan("timeout", TimeSpan.FromSeconds(30)), ParseAction(a.GetString("on-failure", "tempfail"), "antispam"), rules);
    }

    static ScannerFailureAction ParseAction(string value, string scanner) => value.ToLowerInvariant() switch
    {
        "tempfail" => ScannerFailureAction.Tempfail,
        "reject" => ScannerFailureAction.Reject,
        var other => throw new InvalidOperationException($"gateway.scanning.{scanner}.on-failure '{other}' is not tempfail or reject"),
    };

    static AntivirusSettings ReadAntivirus(Config g)
    {
        var engine = g.GetString("scanning.antivirus.engine", "builtin").ToLowerInvariant();
        if (engine is not ("builtin" or "clamd")) throw new InvalidOperationException($"gateway.scanning.antivirus.engine '{engine}' is not builtin or clamd");
        var action = ParseAction(g.GetString("scanning.antivirus.on-failure", "tempfail"), "antivirus");
        return new AntivirusSettings(engine, NullIfEmpty(g.GetString("scanning.antivirus.signatures", "")),
            g.GetString("scanning.antivirus.clamd", "127.0.0.1:3310"), g.GetTimeSpan("scanning.antivirus.timeout", TimeSpan.FromSeconds(30)), action);
    }

    static LoginFailureSettings ReadAuthFailures(Config smtp)
    {
        var d = LoginFailureSettings.Default;
        var s = new LoginFailureSettings(smtp.GetInt("auth-failures.max", d.MaxFailures), smtp.GetTimeSpan("auth-failures.window", d.Window),
            smtp.GetTimeSpan("auth-failures.lockout", d.Lockout), smtp.GetTimeSpan("auth-failures.delay", d.Delay),
            smtp.GetInt("auth-failures.max-clients", d.MaxClients));
        if (s.MaxFailures < 1 || s.MaxClients < 1 || s.Window <= TimeSpan.Zero || s.Lockout <= TimeSpan.Zero || s.Delay < TimeSpan.Zero)
            throw new InvalidOperationException("gateway.smtp.auth-failures: max and max-clients must be at least 1, window and lockout positive, delay not negative");
        return s;
    }

    static SmtpEndpointOptions ReadEndpoint(Config e, BareLineEndingPolicy bareLineEndings) => new()
    {
        Name = e.GetString("name", "smtp"),
        Address = e.GetString("address", "127.0.0.1"),
        Port = e.GetInt("port", 2525),
        ImplicitTls = e.GetBoolean("implicit-tls", false),
        CertificatePath = NullIfEmpty(e.GetString("certificate", "")),
        KeyPath = NullIfEmpty(e.GetString("key", "")),
        CertificatePasswordEnv = NullIfEmpty(e.GetString("certificate-password-env", "")),
        AuthRequired = e.GetBoolean("auth-required", false),
        AllowAuthWithoutTls = e.GetBoolean("allow-auth-without-tls", false),
        BareLineEndings = e.HasPath("bare-line-endings")
            ? ParseBareLineEndings(e.GetString("bare-line-endings"), $"endpoint {e.GetString("name", "smtp")}")
            : bareLineEndings,
    };

    static BareLineEndingPolicy ParseBareLineEndings(string value, string where) => value.ToLowerInvariant() switch
    {
        "normalize" => BareLineEndingPolicy.Normalize,
        "reject" => BareLineEndingPolicy.Reject,
        _ => throw new InvalidOperationException($"{where}: bare-line-endings '{value}' is not normalize or reject"),
    };

    static ActorGateway.Node.Operations.LogFormat ReadLogFormat(Config g) => g.GetString("logging.format", "text") switch
    {
        "text" => ActorGateway.Node.Operations.LogFormat.Text,
        "json" => ActorGateway.Node.Operations.LogFormat.Json,
        var other => throw new InvalidOperationException($"gateway.logging.format: '{other}' is not one of text, json"),
    };

    static TraceSettings ReadTrace(Config smtp)
    {
        var hops = smtp.GetInt("max-hops", TraceSettings.Default.MaxHops);
        if (hops < 1) throw new InvalidOperationException("gateway.smtp.max-hops must be at least 1");
        return new TraceSettings(smtp.HasPath("trace-header") ? ReadTraceMode(smtp.GetString("trace-header"), "gateway.smtp.trace-header") : TraceSettings.Default.Mode, hops);
    }

    static ActorGateway.Smtp.Protocol.TraceMode ReadTraceMode(string value, string key) => value switch
    {
        "full" => ActorGateway.Smtp.Protocol.TraceMode.Full,
        "hide-client" => ActorGateway.Smtp.Protocol.TraceMode.HideClient,
        "strip-received" => ActorGateway.Smtp.Protocol.TraceMode.HideClientAndStrip,
        _ => throw new InvalidOperationException($"{key}: '{value}' is not one of full, hide-client, strip-received"),
    };

    static Tenant ReadTenant(string id, Config t)
    {
        var users = Items(t, "users").ToDictionary(kv => kv.Key, kv => kv.Value.GetString(), StringComparer.Ordinal);
        if (t.GetString("password-file", "") is { Length: > 0 } file)
            foreach (var line in File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
            {
                var colon = line.IndexOf(':');
                if (colon <= 0) throw new InvalidOperationException($"tenant '{id}': bad line in {file}");
                users[line[..colon]] = line[(colon + 1)..];
            }
        var networks = t.GetStringList("networks", []).Select(n => IPNetwork.TryParse(n, out var net) ? net
            : throw new InvalidOperationException($"tenant '{id}': '{n}' is not a network in CIDR notation")).ToArray();
        var domains = t.GetStringList("domains", []).Select(s => s.ToLowerInvariant()).ToArray();
        var rate = new RateLimitSettings(t.GetBoolean("rate-limit.enabled", false), t.GetInt("rate-limit.per-minute", 100));
        if (rate.PerMinute < 1) throw new InvalidOperationException($"tenant '{id}': rate-limit.per-minute must be at least 1");
        return new Tenant(id, networks, users, domains, rate)
        {
            SpamThreshold = t.HasPath("spam-threshold") ? t.GetDouble("spam-threshold") : null,
            TraceHeader = t.HasPath("trace-header") ? ReadTraceMode(t.GetString("trace-header"), $"gateway.tenants.{id}.trace-header") : null,
        };
    }

    static IEnumerable<KeyValuePair<string, Akka.Configuration.Hocon.HoconValue>> Items(Config c, string path)
    {
        if (!c.HasPath(path)) return [];
        return c.GetValue(path).GetObject()?.Items ?? new Dictionary<string, Akka.Configuration.Hocon.HoconValue>();
    }

    /// <summary>An element of a HOCON list or object, read with the usual Config getters.</summary>
    /// <summary>Destination shaping keys over <paramref name="defaults"/> (a null section keeps them all).</summary>
    static DestinationSettings ReadDestination(Config? c, DestinationSettings defaults) => c is null ? defaults : new(
        c.GetInt("initial-concurrency", defaults.InitialConcurrency), c.GetInt("max-concurrency", defaults.MaxConcurrency),
        c.GetInt("max-messages-per-connection", defaults.MaxMessagesPerConnection), c.GetInt("max-recipients-per-transaction", defaults.MaxRecipientsPerTransaction),
        c.GetInt("pause-after-failures", defaults.FailuresBeforePause), c.GetTimeSpan("pause", defaults.Pause),
        c.GetInt("max-messages-per-minute", defaults.MessagesPerMinute), c.GetInt("max-messages-per-hour", defaults.MessagesPerHour));

    static Config AsConfig(Akka.Configuration.Hocon.HoconValue value) => new(new Akka.Configuration.Hocon.HoconRoot(value));

    static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}
