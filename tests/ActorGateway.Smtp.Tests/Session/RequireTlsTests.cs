using ActorGateway.Smtp.Tests.Support;

namespace ActorGateway.Smtp.Tests.Session;

/// <summary>REQUIRETLS (RFC 8689 3): advertised and accepted only in a TLS session, kept in the envelope.</summary>
public sealed class RequireTlsTests
{
    [Fact]
    public async Task Plaintext_sessions_neither_advertise_nor_accept_requiretls()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true);
        await using var client = await RawSmtpClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        var ehlo = await client.CommandAsync("EHLO client.example");
        Assert.DoesNotContain("REQUIRETLS", ehlo.Lines);
        Assert.Equal("530 5.7.10 REQUIRETLS needs TLS: issue STARTTLS first",
            (await client.CommandAsync("MAIL FROM:<a@s.example> REQUIRETLS")).ToString());
        // The session goes on: the same sender without the parameter is fine.
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@s.example>")).Code);
    }

    [Fact]
    public async Task Tls_sessions_advertise_requiretls_and_keep_it_in_the_envelope()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true);
        await using var client = await RawSmtpClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO client.example");
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.StartTlsAsync();
        Assert.Contains("REQUIRETLS", (await client.CommandAsync("EHLO client.example")).Lines);

        Assert.Equal("501 5.5.4 Bad REQUIRETLS parameter", (await client.CommandAsync("MAIL FROM:<a@s.example> REQUIRETLS=YES")).ToString());
        Assert.Equal("501 5.5.4 Bad REQUIRETLS parameter", (await client.CommandAsync("MAIL FROM:<a@s.example> REQUIRETLS REQUIRETLS")).ToString());
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@s.example> requiretls")).Code);
        await client.CommandAsync("RCPT TO:<b@r.example>");
        await client.CommandAsync("DATA");
        Assert.Equal(250, (await client.CommandAsync("Subject: x\r\n\r\nx\r\n.")).Code);
        await client.CommandAsync("MAIL FROM:<a@s.example>");
        await client.CommandAsync("RCPT TO:<b@r.example>");
        await client.CommandAsync("DATA");
        Assert.Equal(250, (await client.CommandAsync("Subject: y\r\n\r\ny\r\n.")).Code);

        Assert.Equal([true, false], server.Hooks.Messages.Select(m => m.Transaction.RequireTls));
    }
}
