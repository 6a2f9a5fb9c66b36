using ActorGateway.Node.Configuration;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>The structural check of a HOCON file: the line, key and problem of the first mistake; nothing for well-formed files.</summary>
public sealed class HoconSyntaxTests
{
    [Theory]
    [InlineData("gateway {\n  smtp { max-message-size = \n  }\n}\n", 2, "gateway.smtp.max-message-size", "no value after '='")]
    [InlineData("gateway {\n  smtp { max-message-size = 5 }\n", 1, "gateway", "the '{' opened on line 1 is not closed")]
    [InlineData("gateway.smtp.max-message-size 5\n", 1, "gateway.smtp.max-message-size", "'=' expected after the key, found '5'")]
    [InlineData("gateway.smtp.max-message-size\n", 1, "gateway.smtp.max-message-size", "no '=' and no value after the key")]
    [InlineData("a = 1\n\ngateway.smtp.server-name = \"gw.example\n", 3, "gateway.smtp.server-name", "a string is not closed")]
    [InlineData("gateway { }\n}\n", 2, "(top level)", "a '}' without a matching '{'")]
    [InlineData("gateway.dns.servers = [ \"a\", \"b\"\ngateway.data-dir = x\n", 2, "gateway.dns.servers[2]", "is its ']' missing?")]
    [InlineData("gateway.dns.servers = [ \"a\", \"b\"\n", 1, "gateway.dns.servers", "the '[' opened on line 1 is not closed")]
    [InlineData("gateway.smtp.server-name = = x\n", 1, "gateway.smtp.server-name", "an unexpected '=' in the value")]
    [InlineData("gateway.tenants.a { domains = [\"a.example\" }\n", 1, "gateway.tenants.a.domains", "a '}' inside the list opened on line 1")]
    [InlineData("gateway.dkim.keys { \"a.example\" { key = } }\n", 1, "gateway.dkim.keys.\"a.example\".key", "no value after '='")]
    [InlineData("x = \"\"\"open\nstill open\n", 1, "x", "the \"\"\" string opened on line 1 is not closed")]
    [InlineData("x = ${a.b\n", 1, "x", "a '${' substitution is not closed")]
    public void A_mistake_is_reported_with_its_line_key_and_problem(string text, int line, string key, string problem)
    {
        var error = HoconSyntax.Check(text);
        Assert.NotNull(error);
        Assert.Equal(line, error.Line);
        Assert.Equal(key, error.Key);
        Assert.Contains(problem, error.Problem);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n// and another\n")]
    [InlineData("{ a = 1, b { c = \"x\" } }")]
    [InlineData("a = 1, b = 2\nc : 3\nd += 4\n")]
    [InlineData("gateway.delivery.routes { \"example.com\" = \"relay.example.net:2525\", \".example.org\" = 127.0.0.1:25 }")]
    [InlineData("zones = [\n  { zone = \"z.example\", listed = [\"127.0.0.2\"] }\n  { zone = \"y.example\", listed = [] }\n]\n")]
    [InlineData("retry-delays = [1m, 5m,\n  15m]  # trailing comment\n")]
    [InlineData("a = ${?HOME}\nb = \"x\\\"y\" z\nc = \"\"\"multi\nline \"quoted\" \"\"\"\n")]
    [InlineData("include \"other.conf\"\na = 1\r\nb = 2\r\n")]
    [InlineData("users { \"app\" = \"pbkdf2-sha256$1000$abc$def\" }\nurl = \"http://127.0.0.1:11333\"\n")]
    public void Well_formed_text_passes(string text) => Assert.Null(HoconSyntax.Check(text));
}
