using System.Text;
using System.Text.RegularExpressions;
using ActorGateway.Smtp.Hosting;
using ActorGateway.Smtp.Protocol;
using ActorGateway.Smtp.Tests.Support;

namespace ActorGateway.Smtp.Tests.Session;

/// <summary>
/// SMTP smuggling (RFC 5321 2.3.8): a bare CR or LF never ends DATA, and a listener either
/// stores it as CRLF (normalize) or refuses the message with 550 5.5.2 (reject), in DATA and BDAT.
/// </summary>
public sealed class BareLineEndingTests
{
    // The known sequences that some receivers take for an end of data, each followed by a smuggled transaction.
    public static TheoryData<string, string> Sequences => new()
    {
        { "\n.\n", "LF" }, { "\n.\r\n", "LF" }, { "\r.\r\n", "CR" }, { "\r\n.\r", "CR" }, { "\r.\n", "CR" },
    };

    const string Head = "From: a@s.example\r\nSubject: smuggling\r\n\r\ntext";
    const string Smuggled = "MAIL FROM:<evil@s.example>\r\nRCPT TO:<victim@r.example>\r\nDATA\r\nSmuggled body\r\n";

    static string Normalized(string s) => Regex.Replace(s, "\r\n|\r|\n", "\r\n");

    static async Task<TestSmtpServer> StartAsync(BareLineEndingPolicy policy) =>
        await TestSmtpServer.StartAsync(o => o with
        {
            MaxTextLineLength = 200,
            Endpoints = o.Endpoints.Select(e => e with { BareLineEndings = policy }).ToArray(),
        });

    static async Task EnvelopeAsync(RawSmtpClient client)
    {
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@s.example>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<b@r.example>")).Code);
    }

    static void AssertNoBareLineEnding(byte[] body)
    {
        Assert.Equal(-1, BareLineEndingNormalizer.IndexOfBare(body, out var kind));
        Assert.False(body.Length > 0 && body[^1] == '\r', $"ends with a bare CR ({kind})");
    }

    /// <summary>A clean message right after: the session went on in sync.</summary>
    static async Task AssertSessionContinuesAsync(RawSmtpClient client, TestSmtpServer server, int storedBefore)
    {
        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("NOOP")).ToString());
        await EnvelopeAsync(client);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: next\r\n\r\nclean\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(storedBefore + 1, server.Hooks.Messages.Count);
        Assert.Equal("Subject: next\r\n\r\nclean\r\n", Encoding.ASCII.GetString(server.Hooks.Messages.Last().Body));
    }

    [Theory, MemberData(nameof(Sequences))]
    public async Task Data_normalize_stores_one_message_with_the_smuggled_text_inside(string sequence, string _)
    {
        await using var server = await StartAsync(BareLineEndingPolicy.Normalize);
        await using var client = await server.OpenSessionAsync();
        await EnvelopeAsync(client);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync(Head + sequence + Smuggled + ".\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);

        var m = Assert.Single(server.Hooks.Messages);
        AssertNoBareLineEnding(m.Body);
        // The lone "." next to a bare line ending is text, not an end of data.
        Assert.Equal(Normalized(Head + sequence + Smuggled), Encoding.ASCII.GetString(m.Body));
        Assert.Contains("MAIL FROM:<evil@s.example>\r\nRCPT TO:<victim@r.example>\r\nDATA\r\nSmuggled body", Encoding.ASCII.GetString(m.Body));
        await AssertSessionContinuesAsync(client, server, 1);
    }

    [Theory, MemberData(nameof(Sequences))]
    public async Task Data_reject_refuses_the_message_after_its_end_and_the_session_goes_on(string sequence, string kind)
    {
        await using var server = await StartAsync(BareLineEndingPolicy.Reject);
        await using var client = await server.OpenSessionAsync();
        await EnvelopeAsync(client);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync(Head + sequence + Smuggled + ".\r\n");
        Assert.Equal($"550 5.5.2 Message contains a bare {kind} (RFC 5321 2.3.8)", (await client.ReadReplyAsync()).ToString());
        Assert.Empty(server.Hooks.Messages);
        await AssertSessionContinuesAsync(client, server, 0);
    }

    [Theory, MemberData(nameof(Sequences))]
    public async Task Bdat_normalize_stores_crlf_also_across_chunk_boundaries(string sequence, string _)
    {
        await using var server = await StartAsync(BareLineEndingPolicy.Normalize);
        await using var client = await server.OpenSessionAsync();
        await EnvelopeAsync(client);
        // Split inside the sequence, so a CR ends one chunk and its next byte starts the next.
        var part1 = Head + sequence[..1];
        var part2 = sequence[1..] + Smuggled + ".\r\n";
        await client.SendAsync($"BDAT {part1.Length}\r\n{part1}");
        Assert.Equal($"250 2.0.0 {part1.Length} octets received", (await client.ReadReplyAsync()).ToString());
        await client.SendAsync($"BDAT {part2.Length} LAST\r\n{part2}");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);

        var m = Assert.Single(server.Hooks.Messages);
        AssertNoBareLineEnding(m.Body);
        Assert.Equal(Normalized(part1 + part2), Encoding.ASCII.GetString(m.Body));
        await AssertSessionContinuesAsync(client, server, 1);
    }

    [Theory, MemberData(nameof(Sequences))]
    public async Task Bdat_reject_refuses_at_the_last_chunk_and_the_session_goes_on(string sequence, string kind)
    {
        await using var server = await StartAsync(BareLineEndingPolicy.Reject);
        await using var client = await server.OpenSessionAsync();
        await EnvelopeAsync(client);
        var part1 = Head + sequence + Smuggled;
        await client.SendAsync($"BDAT {part1.Length}\r\n{part1}");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        await client.SendAsync("BDAT 5 LAST\r\nend\r\n");
        Assert.Equal($"550 5.5.2 Message contains a bare {kind} (RFC 5321 2.3.8)", (await client.ReadReplyAsync()).ToString());
        Assert.Empty(server.Hooks.Messages);
        await AssertSessionContinuesAsync(client, server, 0);
    }

    [Fact]
    public async Task Bdat_message_ending_in_a_bare_cr_gets_crlf()
    {
        await using var server = await StartAsync(BareLineEndingPolicy.Normalize);
        await using var client = await server.OpenSessionAsync();
        await EnvelopeAsync(client);
        await client.SendAsync("BDAT 4 LAST\r\nab\r\r");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("ab\r\n\r\n", Encoding.ASCII.GetString(Assert.Single(server.Hooks.Messages).Body));
    }

    [Fact]
    public async Task Data_lines_split_by_bare_lf_count_as_lines_for_the_length_limit()
    {
        // Limit 200 octets per line: 40 lines of 50 octets with bare LF are one 2000-octet "CRLF line".
        await using var server = await StartAsync(BareLineEndingPolicy.Normalize);
        await using var client = await server.OpenSessionAsync();
        await EnvelopeAsync(client);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        var text = string.Concat(Enumerable.Range(0, 40).Select(i => new string((char)('a' + i % 26), 49) + "\n"));
        await client.SendAsync(text + "\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(Normalized(text) + "\r\n", Encoding.ASCII.GetString(Assert.Single(server.Hooks.Messages).Body));

        // A line between bare line endings longer than the limit is still refused.
        await EnvelopeAsync(client);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("short\n" + new string('x', 250) + "\nshort\r\n.\r\n");
        Assert.Equal("500 5.5.6 Message has a line longer than allowed", (await client.ReadReplyAsync()).ToString());
    }

    [Fact]
    public async Task Normalized_line_endings_count_towards_the_size_limit()
    {
        // 60 bare LFs are 60 octets as sent and 120 as stored: over a limit of 100.
        await using var server = await TestSmtpServer.StartAsync(o => o with { MaxMessageSize = 100 });
        await using var client = await server.OpenSessionAsync();
        await EnvelopeAsync(client);
        await client.SendAsync("BDAT 60 LAST\r\n" + new string('\n', 60));
        Assert.Equal("552 5.3.4 Message size exceeds fixed maximum message size", (await client.ReadReplyAsync()).ToString());
        await EnvelopeAsync(client);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync(new string('\n', 60) + "\r\n.\r\n");
        Assert.Equal("552 5.3.4 Message size exceeds fixed maximum message size", (await client.ReadReplyAsync()).ToString());
        // 45 of them (90 octets stored) fit.
        await EnvelopeAsync(client);
        await client.SendAsync("BDAT 45 LAST\r\n" + new string('\n', 45));
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(90, Assert.Single(server.Hooks.Messages).Body.Length);
    }

    [Fact]
    public async Task Data_split_right_after_a_cr_is_judged_by_the_next_packet()
    {
        await using var server = await StartAsync(BareLineEndingPolicy.Normalize);
        await using var client = await server.OpenSessionAsync();
        await EnvelopeAsync(client);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        foreach (var piece in new[] { "one\r", "two\r", "\n", ".\r", "x\r", "\n", ".", "\r", "\n" })
        {
            await client.SendAsync(piece);
            await Task.Delay(20);
        }
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal("one\r\ntwo\r\n.\r\nx\r\n", Encoding.ASCII.GetString(Assert.Single(server.Hooks.Messages).Body));
    }
}
