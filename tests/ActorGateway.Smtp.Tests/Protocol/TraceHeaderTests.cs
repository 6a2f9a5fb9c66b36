using System.Net;
using System.Text;
using ActorGateway.Smtp.Protocol;
using ActorGateway.Smtp.Session;

namespace ActorGateway.Smtp.Tests.Protocol;

/// <summary>The gateway's Received line in each mode, and the Received fields it counts and removes.</summary>
public sealed class TraceHeaderTests
{
    static SmtpSessionContext Session(string address) => new()
    {
        SessionId = "s", EndpointName = "smtp", HeloName = "client.lan",
        RemoteEndPoint = new IPEndPoint(IPAddress.Parse(address), 4000),
        LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 25),
    };

    static readonly SmtpTransaction Transaction = new("a@s.example", [new("b@r.example", DsnNotify.Unspecified, null)],
        BodyType.SevenBit, false, DsnReturn.Unspecified, null, new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData("192.0.2.7", "[192.0.2.7]")]
    [InlineData("2001:db8::7", "[IPv6:2001:db8::7]")]
    [InlineData("::ffff:192.0.2.7", "[192.0.2.7]")]
    public void Full_names_the_client_with_an_RFC_5321_address_literal(string address, string literal)
    {
        var h = TraceHeader.Build(Session(address), Transaction, "gw.test", "Q1", TraceMode.Full);
        Assert.StartsWith($"Received: from client.lan ({literal})\r\n\tby gw.test (ActorGateway) with SMTP id Q1", h);
    }

    [Theory]
    [InlineData("192.0.2.7", TraceMode.HideClient)]
    [InlineData("2001:db8::7", TraceMode.HideClient)]
    [InlineData("2001:db8::7", TraceMode.HideClientAndStrip)]
    public void Hidden_lines_keep_queue_id_protocol_and_date_without_the_client(string address, TraceMode mode)
    {
        var h = TraceHeader.Build(Session(address), Transaction, "gw.test", "Q1", mode);
        Assert.Equal("Received: by gw.test (ActorGateway) with SMTP id Q1\r\n\tfor <b@r.example>;\r\n\tMon, 23 Nov 2026 10:00:00 +0000\r\n", h);
        Assert.DoesNotContain("client.lan", h);
        Assert.DoesNotContain(address, h);
        Assert.True(MimeKit.Header.TryParse(h.TrimEnd('\r', '\n'), out var header));
        Assert.Equal(MimeKit.HeaderId.Received, header!.Id);
    }

    const string Message =
        "Received: by gw.test (ActorGateway) with ESMTP id NEW;\r\n\tMon, 23 Nov 2026 10:00:01 +0000\r\n" +
        "Received: from app01.customer.lan (app01.customer.lan [10.1.2.3])\r\n\tby mx.customer.lan (Postfix) with ESMTP id 4ABC;\r\n\tMon, 23 Nov 2026 10:00:00 +0000\r\n" +
        "received:from laptop ([10.9.9.9]) by app01.customer.lan; Mon, 23 Nov 2026 09:59:59 +0000\r\n" +
        "Subject: hi\r\n" +
        "Received: by gw.other (ActorGateway) with ESMTP id OLD;\r\n\tMon, 23 Nov 2026 09:59:00 +0000\r\n" +
        "X-Note: Received: from inside a value is no field\r\n" +
        "\r\n" +
        "Received: from body.example (a body line, not a header)\r\n";

    [Fact]
    public void Counts_the_Received_fields_of_the_header_section_only()
    {
        Assert.Equal(4, ReceivedFields.Count(Encoding.ASCII.GetBytes(Message)));
        Assert.Equal(0, ReceivedFields.Count("Subject: none\r\n\r\nReceived: x\r\n"u8));
        Assert.Equal(0, ReceivedFields.Count([]));
    }

    [Fact]
    public void Strips_foreign_Received_fields_with_their_folded_lines_and_keeps_the_gateways_hidden_ones()
    {
        var stripped = Encoding.ASCII.GetString(ReceivedFields.StripForeign(Encoding.ASCII.GetBytes(Message)));
        Assert.Equal(
            "Received: by gw.test (ActorGateway) with ESMTP id NEW;\r\n\tMon, 23 Nov 2026 10:00:01 +0000\r\n" +
            "Subject: hi\r\n" +
            "Received: by gw.other (ActorGateway) with ESMTP id OLD;\r\n\tMon, 23 Nov 2026 09:59:00 +0000\r\n" +
            "X-Note: Received: from inside a value is no field\r\n" +
            "\r\n" +
            "Received: from body.example (a body line, not a header)\r\n", stripped);
    }

    [Fact]
    public void A_full_line_of_the_gateway_is_foreign_because_it_names_a_client()
    {
        var full = "Received: from client.lan ([192.0.2.7])\r\n\tby gw.test (ActorGateway) with SMTP id Q1;\r\n\tMon, 23 Nov 2026 10:00:00 +0000\r\nSubject: x\r\n\r\nbody\r\n";
        Assert.Equal("Subject: x\r\n\r\nbody\r\n", Encoding.ASCII.GetString(ReceivedFields.StripForeign(Encoding.ASCII.GetBytes(full))));
        var none = Encoding.ASCII.GetBytes("Subject: x\r\n\r\nbody\r\n");
        Assert.Same(none, ReceivedFields.StripForeign(none));
    }
}
