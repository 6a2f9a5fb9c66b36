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

    /// <summary>The shipped defaults, then <paramref name="files"/> in order.</summary>
    static IEnumerable<string> AllFiles(IEnumerable<string> files) =>
        new[] { Path.Combine(ShippedDirectory, "akka.conf"), Path.Combine(ShippedDirectory, "gateway.conf") }.Concat(files);

    public static Config Load(IEnumerable<string> files)
    {
        var config = ConfigurationFactory.Empty;
        foreach (var file in AllFiles(files))
            config = Parse(file).WithFallback(config);
        return config;
    }

    /// <summary>One file; a file that is missing or not valid HOCON is a <see cref="BadConfigurationException"/> naming it.</summary>
    static Config Parse(string file)
    {
        if (!File.Exists(file)) throw new BadConfigurationException(file, "(file)", "no such configuration file");
        var text = File.ReadAllText(file);
        if (HoconSyntax.Check(text) is { } mistake) throw new BadConfigurationException(file, mistake.Key, $"line {mistake.Line}: {mistake.Problem}");
        try { return ConfigurationFactory.ParseString(text); }
        catch (Exception e) { throw new BadConfigurationException(file, "(file)", $"not valid HOCON: {e.Message}", e); }
    }

    /// <summary>The error with the file that sets its key (see <see cref="KeySource"/>), when it does not name one already.</summary>
    public static BadConfigurationException Locate(BadConfigurationException error, IEnumerable<string> files) =>
        error.File is null && KeySource.FileSetting(AllFiles(files), error.Key) is { } file ? error.InFile(file) : error;

    public static GatewaySettings Read(Config config)
    {
        var g = config.GetConfig("gateway") is { } gateway ? new ConfigSection(gateway, "gateway")
            : throw new BadConfigurationException(null, "gateway", "no gateway section in the configuration");
        var serverName = g.GetString("smtp.server-name", "");
        if (serverName.Length == 0) serverName = Dns.GetHostName();
        var dataDir = Path.GetFullPath(g.GetString("data-dir", "data"));

        var provider = g.GetString("storage.provider", "sqlite").ToLowerInvariant() switch
        {
            "sqlite" => StorageProvider.Sqlite,
            "postgresql" or "postgres" => StorageProvider.PostgreSql,
            var other => throw g.Error("storage.provider", $"'{other}' is not sqlite or postgresql"),
        };
        var connection = g.GetString("storage.connection-string", "");
        if (connection.Length == 0 && g.GetString("storage.connection-string-env", "") is { Length: > 0 } env)
            connection = Environment.GetEnvironmentVariable(env) ?? "";
        if (connection.Length == 0)
        {
            if (provider == StorageProvider.PostgreSql) throw g.Error("storage.connection-string", "postgresql needs a connection string (or connection-string-env naming a variable that holds one)");
            connection = $"Data Source={Path.Combine(dataDir, "gateway.db")}";
        }
        if (provider == StorageProvider.PostgreSql) connection = Storage.GatewayDatabase.WithAutoPrepare(connection);

        var smtp = Section(g, "smtp");
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
            StressThreshold = smtp.GetDouble("stress-threshold", 0.8),
            StressCommandTimeout = smtp.GetTimeSpan("stress-command-timeout", TimeSpan.FromSeconds(10)),
            StressDataTimeout = smtp.GetTimeSpan("stress-data-timeout", TimeSpan.FromSeconds(10)),
            EvictIdleAfter = smtp.GetString("evict-idle-after", "1s") is "off" or "false" ? null : smtp.GetTimeSpan("evict-idle-after", TimeSpan.FromSeconds(1)),
            Endpoints = smtp.GetSectionList("endpoints").Select(e => ReadEndpoint(e, ParseBareLineEndings(smtp))).ToArray(),
        };

        var d = Section(g, "delivery");
        var routes = d.Items("routes").ToDictionary(kv => kv.Key.ToLowerInvariant(), kv => d.ItemString("routes", kv));
        var destination = ReadDestination(d.GetConfig("destination"), DestinationSettings.Default);
        var delivery = new DeliverySettings(
            d.GetInt("port", 25), routes,
            d.GetString("helo-name", "") is { Length: > 0 } helo ? helo : serverName,
            d.GetTimeSpan("connect-timeout", TimeSpan.FromSeconds(30)),
            d.GetTimeSpan("command-timeout", TimeSpan.FromMinutes(2)),
            d.GetTimeSpan("idle-connection-timeout", TimeSpan.FromSeconds(30)),
            new RetrySchedule(d.GetTimeSpanList("retry-delays"), d.GetTimeSpan("max-lifetime", TimeSpan.FromDays(5))),
            d.GetTimeSpan("queue-wait", TimeSpan.FromMinutes(2)),
            destination,
            d.Items("destinations").ToDictionary(kv => kv.Key.ToLowerInvariant(),
                kv => ReadDestination(d.Item("destinations", kv), destination), StringComparer.OrdinalIgnoreCase),
            d.Items("groups").Select(kv => (Name: kv.Key, Section: d.Item("groups", kv))).Select(group => new DestinationGroup(group.Name,
                group.Section.GetStringList("mx-suffixes", []).ToArray(), ReadDestination(group.Section, destination))).ToArray(),
            d.GetBoolean("dane", true));
        if (delivery.Retry.Delays.Count == 0) throw d.Error("retry-delays", "must not be empty");
        delivery = delivery with { Trust = ReadTrust(d), MtaSts = ReadMtaSts(d), TlsRpt = ReadTlsRpt(d, serverName) };
        if (delivery.Groups.FirstOrDefault(g => g.MxSuffixes.Count == 0) is { } empty)
            throw d.Error($"groups.{empty.Name}.mx-suffixes", "must name at least one MX host suffix");
        foreach (var (name, dest) in delivery.Destinations.Select(kv => new KeyValuePair<string, DestinationSettings>($"destinations.\"{kv.Key}\"", kv.Value))
                     .Prepend(new("destination", delivery.Destination))
                     .Concat(delivery.Groups.Select(g => new KeyValuePair<string, DestinationSettings>($"groups.{g.Name}", g.Settings))))
            if (dest.InitialConcurrency < 1 || dest.MaxConcurrency < 1 || dest.MaxMessagesPerConnection < 1 || dest.MaxRecipientsPerTransaction < 1 || dest.FailuresBeforePause < 1)
                throw d.Error(name, "concurrency, messages, recipients and pause-after-failures must be at least 1");

        var tenants = g.Items("tenants").Select(kv => ReadTenant(kv.Key, g.Item("tenants", kv))).ToArray();
        try { _ = new TenantDirectory(tenants); }
        catch (ArgumentException e) { throw g.Error("tenants", e.Message); }

        return new GatewaySettings(dataDir, serverName, g.GetBoolean("cluster.self-join", true), provider, connection, smtpOptions,
            smtp.GetTimeSpan("store-timeout", TimeSpan.FromSeconds(30)),
            g.GetTimeSpan("rate-limit.timeout", TimeSpan.FromSeconds(5)),
            g.GetStringList("dns.servers", []).ToArray(), g.GetTimeSpan("dns.timeout", TimeSpan.FromSeconds(3)), delivery,
            g.GetTimeSpan("queue.sweep-interval", TimeSpan.FromSeconds(5)), ReadAntivirus(g), ReadAntispam(g),
            new PoolSettings(NullIfEmpty(g.GetString("pools.good.source-address", "")), NullIfEmpty(g.GetString("pools.bad.source-address", "")),
                g.GetTimeSpan("pools.wait-interval", TimeSpan.FromSeconds(5))),
            ReadTlsPolicy(g),
            g.Items("dkim.keys").Select(kv => ReadDkimKey(kv.Key, g.Item("dkim.keys", kv))).ToArray(),
            g.HasPath("dkim.headers") ? g.GetStringList("dkim.headers", []).ToArray() : ActorGateway.Mail.Signing.DkimSigning.DefaultHeaders,
            tenants,
            ReadBlacklists(g, serverName),
            ReadOperations(g),
            new RetentionSettings(g.GetTimeSpan("retention.delivery-records", RetentionSettings.Default.DeliveryRecords),
                g.GetTimeSpan("retention.interval", RetentionSettings.Default.Interval))) { Trace = ReadTrace(smtp), LogFormat = ReadLogFormat(g),
                AuthFailures = ReadAuthFailures(smtp), AuthCacheSize = smtp.GetInt("auth-cache.size", 10_000),
                QueueActiveLimit = g.GetInt("queue.active-limit", ActorGateway.Node.Queue.QueueSweeper.DefaultActiveLimit) is var limit and > 0
                    ? limit : throw g.Error("queue.active-limit", "must be at least 1"),
                QueueDeleteInterval = g.GetTimeSpan("queue.delete-interval", TimeSpan.FromSeconds(1)) is var deletes && deletes > TimeSpan.Zero
                    ? deletes : throw g.Error("queue.delete-interval", "must be more than 0"),
                Webhooks = ReadWebhooks(g) };
    }

    /// <summary>A section that must be there (the shipped gateway.conf has it).</summary>
    static ConfigSection Section(ConfigSection parent, string key) =>
        parent.GetConfig(key) ?? throw parent.Error(key, "the section is missing");

    static ActorGateway.Node.Operations.OperationsSettings ReadOperations(ConfigSection g)
    {
        var o = g.GetConfig("operations");
        return new ActorGateway.Node.Operations.OperationsSettings(o?.GetString("address", "127.0.0.1") ?? "127.0.0.1", o?.GetInt("port", 0) ?? 0,
            o is null ? null : Secret(o, "token"), o is null ? null : Secret(o, "read-token"));
    }

    /// <summary>A secret named <paramref name="name"/>: read from <c>NAME-file</c>, else from the variable named by <c>NAME-env</c>; null when neither gives one.</summary>
    static string? Secret(ConfigSection section, string name)
    {
        string? value = null;
        if (section.GetString(name + "-file", "") is { Length: > 0 } file) value = ReadFile(section, name + "-file", file);
        else if (section.GetString(name + "-env", "") is { Length: > 0 } env) value = Environment.GetEnvironmentVariable(env);
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    /// <summary>The text of a file named by <paramref name="key"/>; a file that cannot be read is a configuration error naming the key.</summary>
    static string ReadFile(ConfigSection section, string key, string path)
    {
        RequireReadable(section, key, path);
        return File.ReadAllText(path);
    }

    static void RequireReadable(ConfigSection section, string key, string path)
    {
        if (Directory.Exists(path)) throw section.Error(key, $"{path} is a directory, not a file");
        try { using var _ = File.OpenRead(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw section.Error(key, $"{path}: no such file"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw section.Error(key, $"cannot read {path}: {e.Message}"); }
    }

    static ActorGateway.Node.Monitor.BlacklistSettings ReadBlacklists(ConfigSection g, string serverName)
    {
        var b = g.GetConfig("blacklists");
        IPAddress[] Codes(ConfigSection z, string key) => z.GetStringList(key, []).Select(c => IPAddress.TryParse(c, out var a) ? a
            : throw z.Error(key, $"'{c}' is not an IP address")).ToArray();
        var zones = b is null ? [] : b.GetSectionList("zones").Select(z =>
            new ActorGateway.Mail.Blacklists.DnsblZone(z.GetString("zone", "") is { Length: > 0 } name ? name : throw z.Error("zone", "every zone needs a name"),
                Codes(z, "listed"), Codes(z, "refused"),
                NullIfEmpty(z.GetString("removal-url", "")), NullIfEmpty(z.GetString("removal-mailbox", "")))).ToArray();
        var sender = b?.GetString("notification-sender", "") is { Length: > 0 } s ? s : $"postmaster@{serverName}";
        return new ActorGateway.Node.Monitor.BlacklistSettings(zones,
            new ActorGateway.Mail.Blacklists.CheckSchedule(b?.GetString("schedule", "0 5 * * *") ?? "0 5 * * *", b?.GetString("time-zone", "Europe/Berlin") ?? "Europe/Berlin"),
            NullIfEmpty(b?.GetString("operations-mailbox", "") ?? ""), sender,
            b?.GetStringList("extra-addresses", []).ToArray() ?? []);
    }

    static ActorGateway.Mail.Signing.DkimKey ReadDkimKey(string domain, ConfigSection k)
    {
        k.AllowOnly("selector", "algorithm", "key");
        var algorithm = k.GetString("algorithm", "rsa-sha256").ToLowerInvariant() switch
        {
            "rsa-sha256" => ActorGateway.Mail.Signing.DkimAlgorithm.RsaSha256,
            "ed25519-sha256" => ActorGateway.Mail.Signing.DkimAlgorithm.Ed25519Sha256,
            var o => throw k.Error("algorithm", $"'{o}' is not rsa-sha256 or ed25519-sha256"),
        };
        var selector = k.GetString("selector", "");
        if (selector.Length == 0) throw k.Error("selector", "is required");
        var path = k.GetString("key", "");
        if (path.Length == 0) throw k.Error("key", "is required (the PEM file of the private key)");
        RequireReadable(k, "key", path);
        var key = new ActorGateway.Mail.Signing.DkimKey(domain.ToLowerInvariant(), selector, algorithm, path);
        // Loaded once here, so that a key that is no key stops the start, not the first signature.
        try { _ = new ActorGateway.Mail.Signing.DkimSigning([key]); }
        catch (Exception e) { throw k.Error("key", $"{path} is not a usable private key: {(e.InnerException ?? e).Message}"); }
        return key;
    }

    static CertificateTrust ReadTrust(ConfigSection d)
    {
        var path = d.GetString("tls.ca-file", "");
        if (path.Length == 0) return CertificateTrust.SystemOnly;
        RequireReadable(d, "tls.ca-file", path);
        try { return CertificateTrust.FromPemFile(path); }
        catch (Exception e) when (e is InvalidDataException or System.Security.Cryptography.CryptographicException)
        { throw d.Error("tls.ca-file", $"{path} holds no usable PEM certificate: {e.Message}"); }
    }

    static TlsRptSettings ReadTlsRpt(ConfigSection d, string serverName)
    {
        var t = d.GetConfig("tls-rpt");
        if (t is null) return TlsRptSettings.Default with { Organization = serverName, Contact = $"postmaster@{serverName}", Sender = $"tlsrpt-noreply@{serverName}" };
        t.AllowOnly("enabled", "schedule", "time-zone", "organization-name", "contact-info", "sender");
        var settings = new TlsRptSettings(t.GetBoolean("enabled", true), t.GetString("schedule", "0 1 * * *"), t.GetString("time-zone", "UTC"),
            NullIfEmpty(t.GetString("organization-name", "")) ?? serverName, NullIfEmpty(t.GetString("contact-info", "")) ?? $"postmaster@{serverName}",
            NullIfEmpty(t.GetString("sender", "")) ?? $"tlsrpt-noreply@{serverName}");
        try { _ = new ActorGateway.Mail.Blacklists.CheckSchedule(settings.Schedule, settings.TimeZone); }
        catch (Exception e) { throw t.Error("schedule", $"'{settings.Schedule}' in '{settings.TimeZone}' is not a usable cron schedule: {e.Message}"); }
        return settings;
    }

    static MtaStsSettings ReadMtaSts(ConfigSection d)
    {
        var m = d.GetConfig("mta-sts");
        if (m is null) return MtaStsSettings.Default;
        m.AllowOnly("enabled", "policy-port", "fetch-timeout", "max-policy-size");
        var settings = new MtaStsSettings(m.GetBoolean("enabled", true), m.GetInt("policy-port", 443),
            m.GetTimeSpan("fetch-timeout", MtaStsSettings.Default.FetchTimeout), m.GetInt("max-policy-size", MtaStsSettings.Default.MaxPolicySize));
        if (settings.PolicyPort is < 1 or > 65535) throw m.Error("policy-port", "must be a port number (1-65535)");
        if (settings.MaxPolicySize < 64) throw m.Error("max-policy-size", "must be at least 64 bytes");
        return settings;
    }

    static TlsPolicy ReadTlsPolicy(ConfigSection g)
    {
        var rules = g.GetSectionList("tls-policy").Select((r, i) =>
        {
            var name = r.GetString("name", $"rule-{i + 1}");
            var sender = NullIfEmpty(r.GetString("sender-domain", "").ToLowerInvariant());
            var recipient = NullIfEmpty(r.GetString("recipient-domain", "").ToLowerInvariant());
            if (sender is null && recipient is null) throw r.Error("recipient-domain", "a rule needs sender-domain or recipient-domain");
            var level = r.GetString("level", "encrypt").ToLowerInvariant() switch
            {
                "encrypt" => TlsLevel.Encrypt, "verify" => TlsLevel.Verify,
                var o => throw r.Error("level", $"'{o}' is not encrypt or verify"),
            };
            var action = r.GetString("on-failure", "hold").ToLowerInvariant() switch
            {
                "hold" => TlsFailureAction.Hold, "reject" => TlsFailureAction.Reject,
                var o => throw r.Error("on-failure", $"'{o}' is not hold or reject"),
            };
            return new TlsRule(name, sender, recipient, level, action);
        }).ToArray();
        return rules.Length == 0 ? TlsPolicy.None : new TlsPolicy(rules);
    }

    static AntispamSettings ReadAntispam(ConfigSection g)
    {
        var a = Section(g, "scanning.antispam");
        var engine = a.GetString("engine", "builtin").ToLowerInvariant();
        if (engine is not ("builtin" or "rspamd")) throw a.Error("engine", $"'{engine}' is not builtin or rspamd");
        var rules = a.GetSectionList("rules").Select(r =>
        {
            System.Text.RegularExpressions.Regex pattern;
            if (r.GetString("pattern", "") is not { Length: > 0 } text) throw r.Error("pattern", "is required");
            try { pattern = new(text, System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1)); }
            catch (ArgumentException e) { throw r.Error("pattern", $"not a regular expression: {e.Message}"); }
            return new ActorGateway.Mail.Scanning.SpamRule(r.GetString("name", ""), NullIfEmpty(r.GetString("header", "")), pattern, r.GetDouble("score", 0));
        }).ToArray();
        return new AntispamSettings(engine, a.GetString("rspamd-url", "http://127.0.0.1:11333"), a.GetDouble("threshold", 5.0),
            a.GetTimeSpan("timeout", TimeSpan.FromSeconds(30)), ParseAction(a, "on-failure"), rules);
    }

    static ScannerFailureAction ParseAction(ConfigSection scanner, string key) => scanner.GetString(key, "tempfail").ToLowerInvariant() switch
    {
        "tempfail" => ScannerFailureAction.Tempfail,
        "reject" => ScannerFailureAction.Reject,
        var other => throw scanner.Error(key, $"'{other}' is not tempfail or reject"),
    };

    static AntivirusSettings ReadAntivirus(ConfigSection g)
    {
        var a = Section(g, "scanning.antivirus");
        var engine = a.GetString("engine", "builtin").ToLowerInvariant();
        if (engine is not ("builtin" or "clamd")) throw a.Error("engine", $"'{engine}' is not builtin or clamd");
        var signatures = NullIfEmpty(a.GetString("signatures", ""));
        if (signatures is not null && !Directory.Exists(signatures)) throw a.Error("signatures", $"{signatures}: no such directory");
        return new AntivirusSettings(engine, signatures, a.GetString("clamd", "127.0.0.1:3310"), a.GetTimeSpan("timeout", TimeSpan.FromSeconds(30)),
            ParseAction(a, "on-failure"));
    }

    static LoginFailureSettings ReadAuthFailures(ConfigSection smtp)
    {
        var d = LoginFailureSettings.Default;
        var s = new LoginFailureSettings(smtp.GetInt("auth-failures.max", d.MaxFailures), smtp.GetTimeSpan("auth-failures.window", d.Window),
            smtp.GetTimeSpan("auth-failures.lockout", d.Lockout), smtp.GetTimeSpan("auth-failures.delay", d.Delay),
            smtp.GetInt("auth-failures.max-clients", d.MaxClients));
        if (s.MaxFailures < 1 || s.MaxClients < 1 || s.Window <= TimeSpan.Zero || s.Lockout <= TimeSpan.Zero || s.Delay < TimeSpan.Zero)
            throw smtp.Error("auth-failures", "max and max-clients must be at least 1, window and lockout positive, delay not negative");
        return s;
    }

    static BareLineEndingPolicy ParseBareLineEndings(ConfigSection section) => section.GetString("bare-line-endings", "normalize").ToLowerInvariant() switch
    {
        "normalize" => BareLineEndingPolicy.Normalize,
        "reject" => BareLineEndingPolicy.Reject,
        var value => throw section.Error("bare-line-endings", $"'{value}' is not normalize or reject"),
    };

    static SmtpEndpointOptions ReadEndpoint(ConfigSection e, BareLineEndingPolicy bareLineEndings)
    {
        var endpoint = new SmtpEndpointOptions
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
            BareLineEndings = e.HasPath("bare-line-endings") ? ParseBareLineEndings(e) : bareLineEndings,
        };
        if (endpoint.CertificatePath is null) return endpoint;
        RequireReadable(e, "certificate", endpoint.CertificatePath);
        if (endpoint.KeyPath is not null) RequireReadable(e, "key", endpoint.KeyPath);
        // Loaded once here, so that a bad certificate stops the start before anything listens.
        try { ServerCertificate.Load(endpoint)?.Dispose(); }
        catch (Exception x) { throw e.Error("certificate", $"{endpoint.CertificatePath} is not a usable certificate with its private key: {x.Message}"); }
        return endpoint;
    }

    static ActorGateway.Node.Operations.LogFormat ReadLogFormat(ConfigSection g) => g.GetString("logging.format", "text") switch
    {
        "text" => ActorGateway.Node.Operations.LogFormat.Text,
        "json" => ActorGateway.Node.Operations.LogFormat.Json,
        var other => throw g.Error("logging.format", $"'{other}' is not one of text, json"),
    };

    static TraceSettings ReadTrace(ConfigSection smtp)
    {
        var hops = smtp.GetInt("max-hops", TraceSettings.Default.MaxHops);
        if (hops < 1) throw smtp.Error("max-hops", "must be at least 1");
        return new TraceSettings(smtp.HasPath("trace-header") ? ReadTraceMode(smtp, "trace-header") : TraceSettings.Default.Mode, hops);
    }

    static ActorGateway.Smtp.Protocol.TraceMode ReadTraceMode(ConfigSection section, string key) => section.GetString(key, "") switch
    {
        "full" => ActorGateway.Smtp.Protocol.TraceMode.Full,
        "hide-client" => ActorGateway.Smtp.Protocol.TraceMode.HideClient,
        "strip-received" => ActorGateway.Smtp.Protocol.TraceMode.HideClientAndStrip,
        var value => throw section.Error(key, $"'{value}' is not one of full, hide-client, strip-received"),
    };

    static readonly string[] TenantKeys = ["networks", "users", "password-file", "domains", "spam-threshold", "rate-limit", "trace-header", "webhook"];

    static Tenant ReadTenant(string id, ConfigSection t)
    {
        // A misspelt key (domians) would otherwise leave the tenant without what the operator meant to give it.
        t.AllowOnly(TenantKeys);
        var users = t.Items("users").ToDictionary(kv => kv.Key, kv => t.ItemString("users", kv), StringComparer.Ordinal);
        if (t.GetString("password-file", "") is { Length: > 0 } file)
            foreach (var (line, number) in ReadFile(t, "password-file", file).Split('\n').Select((l, i) => (l.Trim(), i + 1)).Where(l => l.Item1.Length > 0 && !l.Item1.StartsWith('#')))
            {
                var colon = line.IndexOf(':');
                if (colon <= 0) throw t.Error("password-file", $"{file} line {number} is not login:hash");
                users[line[..colon]] = line[(colon + 1)..];
            }
        var networks = t.GetStringList("networks", []).Select(n => IPNetwork.TryParse(n, out var net) ? net
            : throw t.Error("networks", $"'{n}' is not a network in CIDR notation")).ToArray();
        var domains = t.GetStringList("domains", []).Select(s => s.ToLowerInvariant()).ToArray();
        var rate = t.GetConfig("rate-limit");
        rate?.AllowOnly("enabled", "per-minute");
        var limit = new RateLimitSettings(rate?.GetBoolean("enabled", false) ?? false, rate?.GetInt("per-minute", 100) ?? 100);
        if (limit.PerMinute < 1) throw t.Error("rate-limit.per-minute", "must be at least 1");
        return new Tenant(id, networks, users, domains, limit)
        {
            SpamThreshold = t.HasPath("spam-threshold") ? t.GetDouble("spam-threshold", 0) : null,
            TraceHeader = t.HasPath("trace-header") ? ReadTraceMode(t, "trace-header") : null,
            Webhook = t.GetConfig("webhook") is { } w ? ReadWebhook(w) : null,
        };
    }

    static readonly string[] WebhookKeys = ["url", "secret-file", "secret-env", "events"];

    static TenantWebhook ReadWebhook(ConfigSection w)
    {
        w.AllowOnly(WebhookKeys);
        var text = w.GetString("url", "");
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw w.Error("url", $"'{text}' is not an http or https URL");
        if (!w.HasPath("secret-file") && !w.HasPath("secret-env"))
            throw w.Error("secret-file", "a webhook needs secret-file or secret-env (the key its events are signed with)");
        var secret = Secret(w, "secret") ?? throw w.Error(w.HasPath("secret-file") ? "secret-file" : "secret-env", "gives no secret (empty file or unset variable)");
        var events = w.HasPath("events") ? w.GetStringList("events", []).Select(e => e.ToLowerInvariant()).ToHashSet()
            : ActorGateway.Mail.Events.DeliveryEventTypes.All.ToHashSet();
        if (events.FirstOrDefault(e => !ActorGateway.Mail.Events.DeliveryEventTypes.All.Contains(e)) is { } unknown)
            throw w.Error("events", $"'{unknown}' is not one of {string.Join(", ", ActorGateway.Mail.Events.DeliveryEventTypes.All)}");
        return new TenantWebhook(url, secret, events);
    }

    static ActorGateway.Node.Events.WebhookSettings ReadWebhooks(ConfigSection g)
    {
        var d = ActorGateway.Node.Events.WebhookSettings.Default;
        var w = g.GetConfig("webhooks");
        if (w is null) return d;
        var s = new ActorGateway.Node.Events.WebhookSettings(w.GetTimeSpan("timeout", d.Timeout),
            new ActorGateway.Mail.Events.WebhookBackoff(w.GetTimeSpan("initial-backoff", d.Backoff.Initial), w.GetTimeSpan("max-backoff", d.Backoff.Max),
                w.GetTimeSpan("max-age", d.Backoff.MaxAge)),
            w.GetTimeSpan("wake-interval", d.WakeInterval));
        if (s.Timeout <= TimeSpan.Zero || s.Backoff.Initial <= TimeSpan.Zero || s.Backoff.Max < s.Backoff.Initial || s.Backoff.MaxAge <= TimeSpan.Zero
            || s.WakeInterval <= TimeSpan.Zero)
            throw g.Error("webhooks", "timeout, initial-backoff, max-age and wake-interval must be positive, max-backoff at least initial-backoff");
        return s;
    }

    /// <summary>Destination shaping keys over <paramref name="defaults"/> (a null section keeps them all).</summary>
    static DestinationSettings ReadDestination(ConfigSection? c, DestinationSettings defaults) => c is null ? defaults : new(
        c.GetInt("initial-concurrency", defaults.InitialConcurrency), c.GetInt("max-concurrency", defaults.MaxConcurrency),
        c.GetInt("max-messages-per-connection", defaults.MaxMessagesPerConnection), c.GetInt("max-recipients-per-transaction", defaults.MaxRecipientsPerTransaction),
        c.GetInt("pause-after-failures", defaults.FailuresBeforePause), c.GetTimeSpan("pause", defaults.Pause),
        c.GetInt("max-messages-per-minute", defaults.MessagesPerMinute), c.GetInt("max-messages-per-hour", defaults.MessagesPerHour));

    static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}
