using ActorGateway.Mail.Delivery.MtaSts;

namespace ActorGateway.Gateway.Tests.Policy.MtaSts;

/// <summary>RFC 8461 3.1 TXT records at _mta-sts.&lt;domain&gt;.</summary>
public sealed class MtaStsRecordTests
{
    [Theory]
    [InlineData("v=STSv1; id=20160831085700Z;", "20160831085700Z")] // the RFC's example
    [InlineData("v=STSv1;id=abc", "abc")]
    [InlineData("v=STSv1; id=abc; ext=1", "abc")]
    public void Valid_records_give_their_id(string txt, string id) => Assert.Equal(id, MtaStsRecord.Find([txt])?.Id);

    [Theory]
    [InlineData("v=STSv1;")] // no id
    [InlineData("v=STSv1; id=has-dash")] // id is alphanumeric only
    [InlineData("v=STSv1; id=123456789012345678901234567890123")] // more than 32 characters
    [InlineData("id=abc; v=STSv1")] // v must come first
    [InlineData("v=STSv10; id=abc")]
    [InlineData("v=spf1 -all")]
    public void Malformed_or_foreign_records_give_none(string txt) => Assert.Null(MtaStsRecord.Find([txt]));

    [Fact]
    public void Other_txt_records_are_ignored_but_two_sts_records_mean_none()
    {
        Assert.Equal("a1", MtaStsRecord.Find(["v=spf1 -all", "v=STSv1; id=a1"])?.Id);
        Assert.Null(MtaStsRecord.Find(["v=STSv1; id=a1", "v=STSv1; id=a2"]));
    }
}
