using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>
/// DANE for SMTP (RFC 7672) end to end, on <see cref="DaneTestbed"/>: per recipient domain
/// another TLSA situation.
/// </summary>
public sealed class DaneTests(DaneTestbed bed) : IClassFixture<DaneTestbed>
{
    GatewayTestbed T => bed.Testbed;

    async Task<string> SendAsync(string rcpt)
    {
        var swaks = await Swaks.SendAsync(T.SmtpPort, "alice@sender.example", rcpt);
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        return swaks.QueueId();
    }

    Task<string> WaitForMessageAsync(string id, params string[] parts) => bed.WaitForMessageAsync(id, parts);

    async Task DeliveredWithDaneAsync(string rcpt, string tls)
    {
        var id = await SendAsync(rcpt);
        var got = Assert.Single(await T.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(45), m => m.Recipients.Contains(rcpt)));
        Assert.True(got.Tls);
        await WaitForMessageAsync(id, "\"state\":\"done\"", tls);
    }

    async Task DeferredByDaneAsync(string rcpt, string why, TestMailReceiver? receiver = null)
    {
        var id = await SendAsync(rcpt);
        // Two attempts: it stays queued and is retried, never sent some other way meanwhile.
        var json = await WaitForMessageAsync(id, "\"attempt\":2", "\"statusCode\":\"4.7.5\"", "DANE", why);
        Assert.DoesNotContain("\"state\":\"done\"", json);
        Assert.DoesNotContain((receiver ?? T.Receiver).Messages(), m => m.Recipients.Contains(rcpt));
    }

    [Fact]
    public Task Dane_ee_spki_sha256_match_delivers_and_records_dane_verified() =>
        DeliveredWithDaneAsync("bob@ee.example", " verified policy=dane");

    [Fact]
    public Task Dane_ta_match_with_the_mx_name_delivers_verified() =>
        DeliveredWithDaneAsync("bob@ta.example", " verified policy=dane");

    [Fact]
    public Task A_static_verify_rule_is_met_by_dane_authentication() =>
        DeliveredWithDaneAsync("bob@ee-verify.example", " verified policy=dane");

    [Fact]
    public Task Only_unusable_records_deliver_over_tls_without_authentication() =>
        DeliveredWithDaneAsync("bob@unusable.example", " unverified policy=dane");

    [Fact]
    public async Task An_insecure_answer_is_not_dane_and_delivers_opportunistically()
    {
        var id = await SendAsync("bob@insecure.example");
        Assert.Single(await T.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(45), m => m.Recipients.Contains("bob@insecure.example")));
        var json = await WaitForMessageAsync(id, "\"state\":\"done\"", " unverified\"");
        Assert.DoesNotContain("policy=dane", json);
    }

    [Fact]
    public Task A_mismatching_tlsa_record_defers_and_nothing_is_sent() =>
        DeferredByDaneAsync("bob@mismatch.example", "matches no DANE-EE");

    [Fact]
    public Task A_dane_ta_leaf_for_another_name_defers() =>
        DeferredByDaneAsync("bob@tawrong.example", "names none of");

    [Fact]
    public Task A_failing_tlsa_lookup_defers() =>
        DeferredByDaneAsync("bob@servfail.example", "TLSA lookup");

    [Fact]
    public async Task A_receiver_without_starttls_and_tlsa_records_defers_and_gets_nothing_in_plaintext()
    {
        // The same receiver takes mail in plaintext when no TLSA records say otherwise.
        await SendAsync("bob@nodane-plain.example");
        var plain = Assert.Single(await bed.PlainReceiver.WaitForAsync(1, TimeSpan.FromSeconds(45), m => m.Recipients.Contains("bob@nodane-plain.example")));
        Assert.False(plain.Tls);
        await DeferredByDaneAsync("bob@plain.example", "mx.plain.example", bed.PlainReceiver);
    }

    [Fact]
    public async Task A_static_verify_rule_still_wins_over_tlsa_records_that_authenticate_nothing()
    {
        // Unusable TLSA records only demand TLS; the rule demands a certificate the system trusts.
        var id = await SendAsync("bob@unusable-verify.example");
        await WaitForMessageAsync(id, "\"attempt\":2", "4.7.5", "DANE");
        Assert.DoesNotContain(T.Receiver.Messages(), m => m.Recipients.Contains("bob@unusable-verify.example"));
    }

    [Fact]
    public async Task A_dane_failure_at_one_mx_tries_the_next()
    {
        await DeliveredWithDaneAsync("bob@twomx.example", " verified policy=dane");
    }
}
