using System.Text;
using ActorGateway.Smtp.Protocol;
using ActorGateway.Smtp.Tests.Support;

namespace ActorGateway.Smtp.Tests.Session;

/// <summary>The RFC 5321 conversation: commands, sequence, replies with enhanced status codes.</summary>
public sealed class SessionFlowTests
{
    static async Task<(TestSmtpServer, RawSmtpClient)> OpenAsync(bool ehlo = true)
    {
        var server = await TestSmtpServer.StartAsync();
        return (server, await server.OpenSessionAsync(ehlo));
    }

    [Fact]
    public async Task Ehlo_advertises_the_extensions()
    {
        var (server, client) = await OpenAsync(ehlo: false);
        await using var _ = server; await using var __ = client;
        var reply = await client.CommandAsync("EHLO client.example");
        Assert.Equal(250, reply.Code);
        Assert.StartsWith("gw.test Hello client.example [127.0.0.1]", reply.Lines[0]);
        foreach (var ext in new[] { "PIPELINING", "SIZE 26214400", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN" })
            Assert.Contains(ext, reply.Lines);
        Assert.DoesNotContain("STARTTLS", reply.Lines);                       // no certificate on this endpoint
        Assert.DoesNotContain(reply.Lines, l => l.StartsWith("AUTH"));      // no TLS, so no AUTH
    }

    [Fact]
    public async Task A_message_is_stored_with_its_envelope_and_exact_bytes()
    {
        var (server, client) = await OpenAsync();
        await using var _ = server; await using var __ = client;
        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<a@sender.example> BODY=8BITMIME RET=HDRS ENVID=env+2B1")).ToString());
        Assert.Equal("250 2.1.5 Recipient OK", (await client.CommandAsync("RCPT TO:<b@rcpt.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx@rcpt.example")).ToString());
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<c@rcpt.example>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        var body = "Subject: hi\r\n\r\n..leading dot\r\n.\tdot tab\r\ntab\tstays\r\nlast\r\n";
        await client.SendAsync(body.Replace("\r\n..leading", "\r\n...leading").Replace("\r\n.\tdot", "\r\n..\tdot") + ".\r\n");
        var done = await client.ReadReplyAsync();
        Assert.Equal(250, done.Code);
        Assert.Contains("queued as T000001", done.Text);

        var m = Assert.Single(server.Hooks.Messages);
        Assert.Equal(body, Encoding.UTF8.GetString(m.Body));
        Assert.Equal("a@sender.example", m.Transaction.Sender);
        Assert.Equal(BodyType.EightBitMime, m.Transaction.Body);
        Assert.Equal(DsnReturn.Headers, m.Transaction.Return);
        Assert.Equal("env+1", m.Transaction.EnvelopeId);
        Assert.Equal(new[] { "b@rcpt.example", "c@rcpt.example" }, m.Transaction.Recipients.Select(r => r.Address));
        Assert.Equal(DsnNotify.Success | DsnNotify.Failure, m.Transaction.Recipients[0].Notify);
        Assert.Equal("rfc822;b+x@rcpt.example", m.Transaction.Recipients[0].OriginalRecipient);
        Assert.Equal(DsnNotify.Unspecified, m.Transaction.Recipients[1].Notify);
    }

    [Fact]
    public async Task End_of_data_split_across_tcp_segments_is_found()
    {
        var (server, client) = await OpenAsync();
        await using var _ = server; await using var __ = client;
        await client.SendAsync("MAIL FROM:<a@s.example>\r\nRCPT TO:<b@r.example>\r\nDATA\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(354, (await client.ReadReplyAsync()).Code);
        foreach (var piece in new[] { "line one\r", "\n", ".", ".two\r\n", "\r\n", ".", "\r", "\n" })
        {
            await client.SendAsync(piece);
            await Task.Delay(20);
        }
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("line one\r\n.two\r\n\r\n", Encoding.ASCII.GetString(Assert.Single(server.Hooks.Messages).Body));
    }

    [Fact]
    public async Task Bare_lf_dot_never_ends_the_data()
    {
        // SMTP smuggling: "\n.\n" or "\r\n.\n" must not end the message.
        var (server, client) = await OpenAsync();
        await using var _ = server; await using var __ = client;
        await client.SendAsync("MAIL FROM:<a@s.example>\r\nRCPT TO:<b@r.example>\r\nDATA\r\n");
        for (var i = 0; i < 3; i++) await client.ReadReplyAsync();
        await client.SendAsync("one\n.\nMAIL FROM:<evil@s.example>\r\n.\nRCPT TO:<x@r.example>\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        var m = Assert.Single(server.Hooks.Messages);
        // Only a "." between two CRLFs ends the data; a lone "." next to a bare LF stays text (normalized).
        Assert.Equal("one\r\n.\r\nMAIL FROM:<evil@s.example>\r\n.\r\nRCPT TO:<x@r.example>\r\n", Encoding.ASCII.GetString(m.Body));
    }

    [Fact]
    public async Task Commands_out_of_sequence_get_503()
    {
        var server = await TestSmtpServer.StartAsync();
        await using var _ = server;
        await using var client = await RawSmtpClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        Assert.Equal("503 5.5.1 Send HELO/EHLO first", (await client.CommandAsync("MAIL FROM:<a@s.example>")).ToString());
        await client.CommandAsync("HELO client.example");
        Assert.Equal("503 5.5.1 Need MAIL command", (await client.CommandAsync("RCPT TO:<b@r.example>")).ToString());
        Assert.Equal("503 5.5.1 Need MAIL command", (await client.CommandAsync("DATA")).ToString());
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@s.example>")).Code);
        Assert.Equal("503 5.5.1 Nested MAIL command", (await client.CommandAsync("MAIL FROM:<a@s.example>")).ToString());
        Assert.Equal("554 5.5.1 No valid recipients", (await client.CommandAsync("DATA")).ToString());
        Assert.Equal(550, (await client.CommandAsync("RCPT TO:<nobody@r.example>")).Code);
        Assert.Equal("554 5.5.1 No valid recipients", (await client.CommandAsync("DATA")).ToString());
        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("RSET")).ToString());
        Assert.Equal("503 5.5.1 Need MAIL command", (await client.CommandAsync("RCPT TO:<b@r.example>")).ToString());
    }

    [Theory]
    [InlineData("FOO bar", "500 5.5.1 Command unrecognized")]
    [InlineData("MAIL TO:<a@b.example>", "501 5.5.4 Syntax: MAIL FROM:<address>")]
    [InlineData("MAIL FROM:a@b.example", "501 5.1.7 Bad sender address syntax: Address must be enclosed in <>")]
    [InlineData("MAIL FROM:<a@@b.example>", "501 5.1.7 Bad sender address syntax: Bad local part")]
    [InlineData("MAIL FROM:<a@-b.example>", "501 5.1.7 Bad sender address syntax: Bad domain")]
    [InlineData("MAIL FROM:<a@b.example> SIZE=abc", "501 5.5.4 Bad SIZE parameter")]
    [InlineData("MAIL FROM:<a@b.example> FROB=1", "555 5.5.4 Unsupported option: FROB")]
    [InlineData("MAIL FROM:<a@b.example> BODY=BINARYMIME", "555 5.5.4 Unsupported BODY type: BINARYMIME")]
    [InlineData("MAIL FROM:<a@b.example> RET=ALL", "501 5.5.4 Bad RET parameter")]
    [InlineData("MAIL FROM:<ä@b.example>", "553 5.6.7 Non-ASCII address requires SMTPUTF8")]
    [InlineData("MAIL FROM:<a@b.example> SIZE=999999999", "552 5.3.4 Message size exceeds fixed maximum message size")]
    [InlineData("MAIL FROM:<x@blocked.example>", "550 5.7.1 Sender refused")]
    [InlineData("EHLO", "501 5.5.4 Syntax: EHLO hostname")]
    [InlineData("VRFY", "501 5.5.4 Syntax: VRFY address")]
    [InlineData("VRFY postmaster", "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery")]
    [InlineData("NOOP", "250 2.0.0 OK")]
    [InlineData("EXPN staff", "502 5.5.1 Command not implemented")]
    [InlineData("STARTTLS", "454 4.7.0 TLS not available")]
    [InlineData("AUTH PLAIN AGFsaWNlAHNlY3JldA==", "503 5.5.1 AUTH not available")]
    [InlineData("BDAT 0 LAST", "503 5.5.1 Need MAIL command")]
    public async Task Each_bad_command_gets_its_reply(string command, string expected)
    {
        var (server, client) = await OpenAsync();
        await using var _ = server; await using var __ = client;
        Assert.Equal(expected, (await client.CommandAsync(command)).ToString());
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code); // the session goes on
    }

    [Theory]
    [InlineData("RCPT TO:<b@r.example> NOTIFY=NEVER,SUCCESS", "501 5.5.4 Bad NOTIFY parameter")]
    [InlineData("RCPT TO:<b@r.example> ORCPT=rfc822", "501 5.5.4 Bad ORCPT parameter")]
    [InlineData("RCPT TO:<>", "501 5.1.3 Bad recipient address syntax: Empty address")]
    [InlineData("RCPT TO:<postmaster>", "250 2.1.5 Recipient OK")]
    [InlineData("RCPT TO:<@relay.example:b@r.example>", "250 2.1.5 Recipient OK")]
    [InlineData("RCPT TO:<\"odd user\"@r.example>", "250 2.1.5 Recipient OK")]
    [InlineData("RCPT TO:<b@[127.0.0.1]>", "250 2.1.5 Recipient OK")]
    [InlineData("RCPT TO:<ü@r.example>", "553 5.6.7 Non-ASCII address requires SMTPUTF8")]
    public async Task Recipient_syntax_and_dsn_parameters(string command, string expected)
    {
        var (server, client) = await OpenAsync();
        await using var _ = server; await using var __ = client;
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@s.example>")).Code);
        Assert.Equal(expected, (await client.CommandAsync(command)).ToString());
    }

    [Fact]
    public async Task Smtputf8_allows_international_addresses()
    {
        var (server, client) = await OpenAsync();
        await using var _ = server; await using var __ = client;
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<jörg@bücher.example> SMTPUTF8")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<müller@straße.example>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        Assert.Equal(250, (await client.CommandAsync("Subject: ü\r\n\r\nGrüße\r\n.")).Code);
        var m = Assert.Single(server.Hooks.Messages);
        Assert.True(m.Transaction.SmtpUtf8);
        Assert.Equal("müller@straße.example", m.Transaction.Recipients[0].Address);
    }

    [Fact]
    public async Task Helo_and_quit_and_help()
    {
        var server = await TestSmtpServer.StartAsync();
        await using var _ = server;
        await using var client = await RawSmtpClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        var helo = await client.CommandAsync("HELO client.example");
        Assert.Equal(250, helo.Code);
        Assert.Single(helo.Lines);
        Assert.Equal(214, (await client.CommandAsync("HELP")).Code);
        Assert.Equal("221 2.0.0 Bye", (await client.CommandAsync("QUIT")).ToString());
        Assert.True(await client.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Pipelined_commands_get_their_replies_in_order()
    {
        var (server, client) = await OpenAsync();
        await using var _ = server; await using var __ = client;
        await client.SendAsync("MAIL FROM:<a@s.example>\r\nRCPT TO:<b@r.example>\r\nRCPT TO:<nobody@r.example>\r\nRCPT TO:<c@r.example>\r\nDATA\r\n");
        var codes = new List<int>();
        for (var i = 0; i < 5; i++) codes.Add((await client.ReadReplyAsync()).Code);
        Assert.Equal(new[] { 250, 250, 550, 250, 354 }, codes);
        await client.SendAsync("x\r\n.\r\nMAIL FROM:<a@s.example>\r\nRCPT TO:<d@r.example>\r\nDATA\r\n");
        codes.Clear();
        for (var i = 0; i < 4; i++) codes.Add((await client.ReadReplyAsync()).Code);
        Assert.Equal(new[] { 250, 250, 250, 354 }, codes);
        Assert.Equal(250, (await client.CommandAsync("y\r\n.")).Code);
        Assert.Equal(2, server.Hooks.Messages.Count);
        Assert.Equal(2, server.Hooks.Messages.First().Transaction.Recipients.Count);
    }

    [Fact]
    public async Task Bdat_chunks_are_joined_without_dot_handling()
    {
        var (server, client) = await OpenAsync();
        await using var _ = server; await using var __ = client;
        await client.CommandAsync("MAIL FROM:<a@s.example>");
        await client.CommandAsync("RCPT TO:<b@r.example>");
        var part1 = "Subject: chunks\r\n\r\n.not stuffed\r\n";
        var part2 = ".\r\nend\r\n";
        await client.SendAsync($"BDAT {part1.Length}\r\n{part1}");
        Assert.Equal($"250 2.0.0 {part1.Length} octets received", (await client.ReadReplyAsync()).ToString());
        // A pipelined final chunk followed by the next command in the same packet.
        await client.SendAsync($"BDAT {part2.Length} LAST\r\n{part2}NOOP\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("250 2.0.0 OK", (await client.ReadReplyAsync()).ToString());
        Assert.Equal(part1 + part2, Encoding.ASCII.GetString(Assert.Single(server.Hooks.Messages).Body));
        await client.SendAsync("BDAT 3 LAST\r\nabc");
        Assert.Equal("503 5.5.1 Need MAIL command", (await client.ReadReplyAsync()).ToString());
        Assert.Equal("501 5.5.4 Syntax: BDAT size [LAST]", (await client.CommandAsync("BDAT x")).ToString());
        Assert.True(await client.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Data_after_bdat_is_out_of_sequence()
    {
        var (server, client) = await OpenAsync();
        await using var _ = server; await using var __ = client;
        await client.CommandAsync("MAIL FROM:<a@s.example>");
        await client.CommandAsync("RCPT TO:<b@r.example>");
        await client.SendAsync("BDAT 2\r\nab");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("503 5.5.1 Bad sequence of commands", (await client.CommandAsync("DATA")).ToString());
    }

    [Fact]
    public async Task A_failing_store_gives_451_never_250()
    {
        var (server, client) = await OpenAsync();
        await using var _ = server; await using var __ = client;
        server.Hooks.StoreOverride = _ => throw new IOException("disk full");
        await client.CommandAsync("MAIL FROM:<a@s.example>");
        await client.CommandAsync("RCPT TO:<b@r.example>");
        await client.CommandAsync("DATA");
        Assert.Equal("451 4.3.0 Local error in processing, try again later", (await client.CommandAsync("x\r\n.")).ToString());
        Assert.Empty(server.Hooks.Messages);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@s.example>")).Code); // transaction was reset
    }

    [Fact]
    public async Task Store_replies_pass_through_to_the_client()
    {
        var (server, client) = await OpenAsync();
        await using var _ = server; await using var __ = client;
        server.Hooks.StoreOverride = _ => new SmtpReply(554, "5.7.1", "Virus found: Eicar-Signature");
        await client.CommandAsync("MAIL FROM:<a@s.example>");
        await client.CommandAsync("RCPT TO:<b@r.example>");
        await client.CommandAsync("DATA");
        Assert.Equal("554 5.7.1 Virus found: Eicar-Signature", (await client.CommandAsync("x\r\n.")).ToString());
    }

    [Fact]
    public async Task Received_header_names_client_protocol_and_queue_id()
    {
        var ctx = new ActorGateway.Smtp.Session.SmtpSessionContext
        {
            SessionId = "s", EndpointName = "smtp",
            RemoteEndPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Parse("192.0.2.7"), 4000),
            LocalEndPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 25),
        };
        var t = new ActorGateway.Smtp.Session.SmtpTransaction("a@s.example", [new("b@r.example", DsnNotify.Unspecified, null)],
            BodyType.SevenBit, false, DsnReturn.Unspecified, null, new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        var h = TraceHeader.Build(ctx, t, "gw.test", "Q1");
        Assert.Equal("Received: from unknown ([192.0.2.7])\r\n\tby gw.test (ActorGateway) with SMTP id Q1\r\n\tfor <b@r.example>;\r\n\tMon, 23 Nov 2026 10:00:00 +0000\r\n", h);
        var parsed = MimeKit.Header.TryParse(h.TrimEnd('\r', '\n'), out var header);
        Assert.True(parsed);
        Assert.Equal(MimeKit.HeaderId.Received, header!.Id);
    }
}
