using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ActorGateway.Gateway.Tests.Policy;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Events;

/// <summary>
/// Tenants' delivery events end to end: a real node, a real receiving MTA (aiosmtpd) and a real
/// webhook receiver (Python's http.server), which records what it got. Tenant "local" has the
/// webhook, tenant "authed" has none.
/// </summary>
public sealed class WebhookEventTests
{
    const string Secret = "whsec-test-0123456789";
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>A testbed whose tenant "local" posts its events to <paramref name="url"/>, retrying quickly.</summary>
    static async Task<(GatewayTestbed Bed, TempDirectory Secrets)> StartAsync(string url, string webhooks = "", string extraHocon = "")
    {
        var secrets = new TempDirectory();
        await File.WriteAllTextAsync(secrets.File("webhook-secret"), Secret + "\n");
        var bed = await GatewayTestbed.StartAsync(extraHocon: $$"""
            gateway.webhooks { initial-backoff = 300ms, max-backoff = 1s, timeout = 5s, wake-interval = 1s }
            gateway.webhooks { {{webhooks}} }
            gateway.tenants.local.webhook { url = "{{url}}", secret-file = "{{secrets.File("webhook-secret")}}" }
            {{extraHocon}}
            """);
        return (bed, secrets);
    }

    /// <summary>The events the receiver accepted (answered 200), each checked as a receiver would: method, id header, signature.</summary>
    static List<JsonElement> Accepted(TestWebhookReceiver receiver)
    {
        var list = new List<JsonElement>();
        foreach (var request in receiver.Requests().Where(r => r.Answered == 200))
        {
            Assert.Equal("POST", request.Method);
            Assert.StartsWith("application/json", request.Header("Content-Type"));
            var timestamp = request.Header("X-ActorGateway-Timestamp");
            Assert.InRange(long.Parse(timestamp), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds());
            var signed = Encoding.UTF8.GetBytes(timestamp + ".").Concat(request.Body).ToArray();
            var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), signed));
            Assert.Equal(expected, request.Header("X-ActorGateway-Signature"));
            var e = JsonDocument.Parse(request.Body).RootElement.Clone();
            Assert.Equal(e.GetProperty("id").GetString(), request.Header("X-ActorGateway-Event-Id"));
            list.Add(e);
        }
        return list;
    }

    static string? Field(JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null ? null : e.GetProperty(name).ToString();

    static async Task<List<JsonElement>> WaitForEventsAsync(TestWebhookReceiver receiver, Func<List<JsonElement>, bool> done)
    {
        var events = new List<JsonElement>();
        await Eventually.WaitAsync(() => done(events = Accepted(receiver)), Bound,
            () => $"events so far:\n{string.Join("\n", receiver.Requests().Select(r => $"{r.Answered} {r.Text}"))}");
        return events;
    }

    /// <summary>The value of one series in /metrics, or null when it is not there.</summary>
    static double? Metric(string metrics, string series) =>
        metrics.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ")) is { } line ? double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture) : null;

    [Fact]
    public async Task Delivered_bounced_and_deferred_events_carry_the_answers_and_a_valid_signature()
    {
        await using var hook = await TestWebhookReceiver.StartAsync();
        var (bed, secrets) = await StartAsync(hook.Url);
        await using var _ = bed;
        using var __ = secrets;

        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "ok@rcpt.example,reject1@rcpt.example,defer1@rcpt.example",
            "--header", "Message-Id: <evt-1@sender.example>");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        var queueId = swaks.QueueId();

        bool Has(List<JsonElement> es, string type, string rcpt) => es.Any(e => Field(e, "type") == type && Field(e, "recipient") == rcpt);
        var events = await WaitForEventsAsync(hook, es => Has(es, "delivered", "ok@rcpt.example") && Has(es, "bounced", "reject1@rcpt.example")
            && Has(es, "deferred", "defer1@rcpt.example") && Has(es, "delivered", "defer1@rcpt.example"));

        foreach (var e in events)
        {
            Assert.Equal("local", Field(e, "tenant"));
            Assert.Equal(queueId, Field(e, "queue_id"));
            Assert.Equal("evt-1@sender.example", Field(e, "message_id"));
            Assert.Equal("alice@sender.example", Field(e, "sender"));
            Assert.Contains("mx.rcpt.example", Field(e, "remote_host"));
            Assert.True(DateTimeOffset.Parse(Field(e, "time")!) > DateTimeOffset.UtcNow.AddMinutes(-5));
        }
        var delivered = events.First(e => Field(e, "type") == "delivered" && Field(e, "recipient") == "ok@rcpt.example");
        Assert.StartsWith("2.", Field(delivered, "status"));
        Assert.Equal("1", Field(delivered, "attempt"));
        var bounced = events.Single(e => Field(e, "type") == "bounced");
        Assert.Equal("5.1.1", Field(bounced, "status"));
        Assert.Contains("User unknown", Field(bounced, "reply"));
        var deferred = events.First(e => Field(e, "type") == "deferred");
        Assert.StartsWith("4.", Field(deferred, "status"));
        Assert.Contains("Temporary failure", Field(deferred, "reply"));
        Assert.Equal("1", Field(deferred, "attempt"));
        Assert.Equal("2", Field(events.First(e => Field(e, "type") == "delivered" && Field(e, "recipient") == "defer1@rcpt.example"), "attempt"));
        // Ids are unique per event; the NDR to alice (from the null sender) is no event of hers.
        Assert.True(events.Count == events.Select(e => Field(e, "id")).Distinct().Count(), string.Join("\n", events));
        Assert.DoesNotContain(events, e => Field(e, "recipient") == "alice@sender.example");
    }

    [Fact]
    public async Task Refusals_at_ingress_are_events_with_the_reply_the_client_got()
    {
        await using var hook = await TestWebhookReceiver.StartAsync();
        var (bed, secrets) = await StartAsync(hook.Url, extraHocon: "gateway.tenants.local.rate-limit { enabled = on, per-minute = 1 }");
        await using var _ = bed;
        using var __ = secrets;

        // At MAIL FROM: the sender's domain does not resolve (no queue id, no recipient yet).
        var unresolvable = await Swaks.SendAsync(bed.SmtpPort, "alice@nothing.example", "bob@rcpt.example");
        Assert.Contains(unresolvable.Replies(), r => r.StartsWith("550 5.1.8"));
        // At the end of DATA: a virus (a queue id and the recipients are known by then).
        await File.WriteAllTextAsync(secrets.File("eicar.com"), VirusScannerTests.Eicar);
        var virus = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "carol@rcpt.example",
            "--header", "Message-Id: <virus-1@sender.example>", "--attach", "@" + secrets.File("eicar.com"));
        Assert.Contains(virus.Replies(), r => r.StartsWith("554"));

        // Over the tenant's rate limit (1 per minute): the first is accepted, the second refused at MAIL FROM.
        var first = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "dave@rcpt.example");
        Assert.True(first.ExitCode == 0, first.ToString());
        var limited = await Swaks.SendAsync(bed.SmtpPort, "bob@sender.example", "erin@rcpt.example");
        Assert.Contains(limited.Replies(), r => r.StartsWith("451 4.7.1"));

        var events = (await WaitForEventsAsync(hook, es => es.Count(e => Field(e, "type") == "refused") >= 3)).Where(e => Field(e, "type") == "refused").ToList();
        Assert.True(events.Count == 3, string.Join("\n", events));
        var overLimit = events.Single(e => Field(e, "sender") == "bob@sender.example");
        Assert.StartsWith("451 4.7.1 Ratelimit reached", Field(overLimit, "reply"));
        Assert.Equal("4.7.1", Field(overLimit, "status"));
        var atMail = events.Single(e => Field(e, "sender") == "alice@nothing.example");
        Assert.Equal("refused", Field(atMail, "type"));
        Assert.Equal("local", Field(atMail, "tenant"));
        Assert.Equal("5.1.8", Field(atMail, "status"));
        Assert.Equal("550 5.1.8 Sender Domain must resolve", Field(atMail, "reply"));
        Assert.Null(Field(atMail, "queue_id"));
        Assert.Null(Field(atMail, "recipient"));
        Assert.Equal("127.0.0.1", Field(atMail, "client"));
        var atData = events.Single(e => Field(e, "sender") == "alice@sender.example");
        Assert.Equal("carol@rcpt.example", Field(atData, "recipient"));
        Assert.StartsWith("554 5.7.1", Field(atData, "reply"));
        Assert.Equal("5.7.1", Field(atData, "status"));
        Assert.NotNull(Field(atData, "queue_id"));
        Assert.Equal("virus-1@sender.example", Field(atData, "message_id"));
    }

    [Fact]
    public async Task Failed_posts_are_retried_with_the_same_event_id()
    {
        await using var hook = await TestWebhookReceiver.StartAsync(failFirst: 2);
        var (bed, secrets) = await StartAsync(hook.Url);
        await using var _ = bed;
        using var __ = secrets;

        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "ok@rcpt.example");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        await WaitForEventsAsync(hook, es => es.Count == 1);

        var requests = hook.Requests();
        Assert.Equal([500, 500, 200], requests.Select(r => r.Answered));
        Assert.Single(requests.Select(r => r.Header("X-ActorGateway-Event-Id")).Distinct());
        Assert.Single(requests.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("id").GetString()).Distinct());
        var metrics = "";
        await Eventually.WaitAsync(async () => Metric(metrics = await bed.MetricsAsync(), "actorgateway_webhook_events_sent_total{tenant=\"local\"}") == 1,
            TimeSpan.FromSeconds(15), () => metrics);
        Assert.Equal(2, Metric(metrics, "actorgateway_webhook_post_failures_total{tenant=\"local\"}"));
        Assert.Equal(0, Metric(metrics, "actorgateway_webhook_events_pending{tenant=\"local\"}"));
    }

    [Fact]
    public async Task A_post_without_an_answer_within_the_timeout_is_tried_again()
    {
        await using var hook = await TestWebhookReceiver.StartAsync(hangFirst: 1);
        var (bed, secrets) = await StartAsync(hook.Url, "timeout = 1s");
        await using var _ = bed;
        using var __ = secrets;

        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "ok@rcpt.example");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        await WaitForEventsAsync(hook, es => es.Count == 1);
        // The held request is answered (504) only after the gateway gave up on it and sent the event again.
        await Eventually.WaitAsync(() => hook.Requests().Count == 2, TimeSpan.FromSeconds(10), () => $"{hook.Requests().Count} request(s)");
        Assert.Equal([200, 504], hook.Requests().Select(r => r.Answered));
        Assert.Single(hook.Requests().Select(r => r.Header("X-ActorGateway-Event-Id")).Distinct());
        Assert.Equal(1, Metric(await bed.MetricsAsync(), "actorgateway_webhook_post_failures_total{tenant=\"local\"}"));
    }

    [Fact]
    public async Task An_event_refused_past_its_maximum_age_is_given_up_and_counted()
    {
        await using var hook = await TestWebhookReceiver.StartAsync(failFirst: 1000);
        var (bed, secrets) = await StartAsync(hook.Url, "max-age = 5s");
        await using var _ = bed;
        using var __ = secrets;

        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "ok@rcpt.example");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        var metrics = "";
        await Eventually.WaitAsync(async () => Metric(metrics = await bed.MetricsAsync(), "actorgateway_webhook_events_failed_total{tenant=\"local\"}") == 1,
            TimeSpan.FromSeconds(30), () => metrics);
        Assert.Equal(0, Metric(metrics, "actorgateway_webhook_events_pending{tenant=\"local\"}"));
        Assert.Null(Metric(metrics, "actorgateway_webhook_events_sent_total{tenant=\"local\"}"));
        var tried = hook.Requests().Count;
        Assert.True(tried >= 2, $"{tried} request(s)");
        // Given up means given up: no more requests for it.
        await bed.Gateway.WaitForLogAsync("given up");
        Assert.InRange(hook.Requests().Count, tried, tried + 1);
    }

    [Fact]
    public async Task Events_queued_while_the_receiver_is_down_survive_a_kill_9()
    {
        var port = FreePort.Next();
        var (bed, secrets) = await StartAsync($"http://127.0.0.1:{port}/events");
        await using var _ = bed;
        using var __ = secrets;

        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", $"ok{i}@rcpt.example");
            Assert.True(swaks.ExitCode == 0, swaks.ToString());
            ids.Add(swaks.QueueId());
        }
        // Queued means journaled: the pending gauge counts what the tenant's queue holds.
        var metrics = "";
        await Eventually.WaitAsync(async () => Metric(metrics = await bed.MetricsAsync(), "actorgateway_webhook_events_pending{tenant=\"local\"}") == 3,
            Bound, () => metrics);
        await bed.Gateway.KillAsync();

        await using var hook = await TestWebhookReceiver.StartAsync(port: port);
        await bed.RestartGatewayAsync();
        var events = await WaitForEventsAsync(hook, es => ids.All(id => es.Any(e => Field(e, "queue_id") == id)));
        Assert.All(events, e => Assert.Equal("delivered", Field(e, "type")));
        Assert.Equal(3, events.Select(e => Field(e, "id")).Distinct().Count());
    }

    [Fact]
    public async Task Sent_events_leave_the_journal()
    {
        await using var hook = await TestWebhookReceiver.StartAsync();
        var (bed, secrets) = await StartAsync(hook.Url);
        await using var _ = bed;
        using var __ = secrets;

        // 60 refusals in one SMTP session (sender domain does not resolve): past the 50 finished
        // events after which the queue snapshots what is pending and deletes the rows before.
        const int count = 60;
        var client = await ExternalProcess.RunAsync("/usr/bin/python3", ["-c", $$"""
            import smtplib
            s = smtplib.SMTP('127.0.0.1', {{bed.SmtpPort}}, timeout=30)
            s.ehlo('client.test')
            for i in range({{count}}):
                code, _ = s.mail('n%d@nothing.example' % i)
                assert code == 550, code
                s.rset()
            s.quit()
            """], TimeSpan.FromSeconds(60));
        Assert.True(client.ExitCode == 0, client.ToString());
        await WaitForEventsAsync(hook, es => es.Count >= count);

        var db = Path.Combine(bed.DataDir, "gateway.db");
        // 2 rows per event (queued, sent) without pruning; what stays is the rows after the snapshot.
        await Eventually.WaitAsync(() => Count(db, "SELECT COUNT(*) FROM journal WHERE persistence_id = 'events-local'") <= 2 * (count - 50) + 1,
            TimeSpan.FromSeconds(15), () => $"{Count(db, "SELECT COUNT(*) FROM journal WHERE persistence_id = 'events-local'")} journal rows of events-local");
        Assert.Equal(1, Count(db, "SELECT COUNT(*) FROM snapshot WHERE persistence_id = 'events-local'"));
        Assert.Equal(count, hook.Requests().Count); // each once

        // Recovered from the snapshot and the rows after it: nothing pending, nothing sent again.
        await bed.RestartGatewayAsync();
        var metrics = "";
        await Eventually.WaitAsync(async () => Metric(metrics = await bed.MetricsAsync(), "actorgateway_webhook_events_pending{tenant=\"local\"}") == 0,
            Bound, () => metrics);
        Assert.Equal(count, hook.Requests().Count);
    }

    static long Count(string db, string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    [Fact]
    public async Task A_tenant_without_a_webhook_gets_no_events()
    {
        await using var hook = await TestWebhookReceiver.StartAsync();
        var (bed, secrets) = await StartAsync(hook.Url);
        await using var _ = bed;
        using var __ = secrets;

        var authed = await Swaks.SendAsync(bed.SmtpPort, "app@authed.example", "viaauth@rcpt.example",
            "--tls", "--auth", "PLAIN", "--auth-user", GatewayTestbed.AuthUser, "--auth-password", GatewayTestbed.AuthPassword);
        Assert.True(authed.ExitCode == 0, authed.ToString());
        await bed.Receiver.WaitForAsync(1, Bound, m => m.Recipients.Contains("viaauth@rcpt.example"));
        // Its delivery was journaled (and any event told) before this one was even sent.
        var local = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "vialocal@rcpt.example");
        Assert.True(local.ExitCode == 0, local.ToString());
        var events = await WaitForEventsAsync(hook, es => es.Any(e => Field(e, "recipient") == "vialocal@rcpt.example"));

        Assert.All(events, e => Assert.Equal("local", Field(e, "tenant")));
        // The operator sees where a tenant's events go, never its secret.
        var tenants = await Actorgw.RunAsync(bed.Reading("tenant", "list"));
        Assert.True(tenants.ExitCode == 0, tenants.ToString());
        Assert.Contains(hook.Url, tenants.StandardOutput);
        Assert.DoesNotContain(Secret, tenants.StandardOutput);
        var json = await Actorgw.RunAsync(bed.Reading("tenant", "show", "local", "--json"));
        Assert.Contains("\"webhookEvents\"", json.StandardOutput);
        Assert.DoesNotContain(Secret, json.StandardOutput);
        Assert.DoesNotContain("tenant=\"authed\"", (await bed.MetricsAsync()).Split('\n').Where(l => l.StartsWith("actorgateway_webhook")).Aggregate("", (a, l) => a + l));
    }
}
