using ActorGateway.Mail.Delivery.MtaSts;

namespace ActorGateway.Gateway.Tests.Policy.MtaSts;

/// <summary>RFC 8461 3.2 policy bodies: the RFC's example, the variations it allows, and malformed ones.</summary>
public sealed class MtaStsPolicyParsingTests
{
    [Fact]
    public void The_rfc_example_parses()
    {
        var policy = MtaStsPolicy.Parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n", out var error);
        Assert.NotNull(policy);
        Assert.Equal("", error);
        Assert.Equal(MtaStsMode.Enforce, policy.Mode);
        Assert.Equal(["mail.example.com", "*.example.net", "backupmx.example.com"], policy.Mx);
        Assert.Equal(TimeSpan.FromSeconds(604800), policy.MaxAge);
    }

    [Theory]
    [InlineData("version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400\n", MtaStsMode.Testing)] // LF only
    [InlineData("version: STSv1\r\nmode: none\r\nmax_age: 0\r\n", MtaStsMode.None)] // none needs no mx
    [InlineData("version: STSv1\r\nmode: enforce\r\nmx: mx.example.com.\r\nmax_age: 31557600\r\nextension: ignored\r\n", MtaStsMode.Enforce)]
    [InlineData("version:STSv1\r\nmode:  enforce\r\nmx:mx.example.com\r\nmax_age: 60", MtaStsMode.Enforce)] // spacing, no final line end
    public void Allowed_variations_parse(string text, MtaStsMode mode)
    {
        var policy = MtaStsPolicy.Parse(text, out var error);
        Assert.True(policy is not null, error);
        Assert.Equal(mode, policy.Mode);
    }

    [Theory]
    [InlineData("", "no version")]
    [InlineData("mode: enforce\r\nversion: STSv1\r\nmx: mx.example.com\r\nmax_age: 60\r\n", "the first field is not version")]
    [InlineData("version: STSv2\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 60\r\n", "version 'STSv2' is not STSv1")]
    [InlineData("version: STSv1\r\nmode: strict\r\nmx: mx.example.com\r\nmax_age: 60\r\n", "mode 'strict' is not enforce, testing or none")]
    [InlineData("version: STSv1\r\nmx: mx.example.com\r\nmax_age: 60\r\n", "no mode")]
    [InlineData("version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\n", "no max_age")]
    [InlineData("version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 31557601\r\n", "max_age '31557601' is not a number of seconds up to 31557600")]
    [InlineData("version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: -5\r\n", "max_age '-5' is not a number of seconds up to 31557600")]
    [InlineData("version: STSv1\r\nmode: enforce\r\nmax_age: 60\r\n", "no mx")]
    [InlineData("version: STSv1\r\nmode: enforce\r\nmx: mx..example.com\r\nmax_age: 60\r\n", "mx 'mx..example.com' is not a host name or *.domain")]
    [InlineData("version: STSv1\r\nmode: enforce\r\nmx: a.*.example.com\r\nmax_age: 60\r\n", "mx 'a.*.example.com' is not a host name or *.domain")]
    [InlineData("version: STSv1\r\n<html>\r\n", "not a 'key: value' line: '<html>'")]
    public void Malformed_policies_are_refused_with_the_reason(string text, string reason)
    {
        Assert.Null(MtaStsPolicy.Parse(text, out var error));
        Assert.Equal(reason, error);
    }

    [Fact]
    public void Of_a_repeated_field_the_first_counts_while_every_mx_adds_a_host()
    {
        var policy = MtaStsPolicy.Parse("version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmx: b.example\nmax_age: 10\nmax_age: 20\n", out _);
        Assert.Equal(MtaStsMode.Testing, policy!.Mode);
        Assert.Equal(["a.example", "b.example"], policy.Mx);
        Assert.Equal(TimeSpan.FromSeconds(10), policy.MaxAge);
    }
}
