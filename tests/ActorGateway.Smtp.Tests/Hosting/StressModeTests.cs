using ActorGateway.Smtp.Hosting;

namespace ActorGateway.Smtp.Tests.Hosting;

public sealed class StressModeTests
{
    static readonly SmtpServerOptions Options = new()
    {
        MaxConnections = 10, StressThreshold = 0.8,
        CommandTimeout = TimeSpan.FromMinutes(5), DataTimeout = TimeSpan.FromMinutes(3),
        StressCommandTimeout = TimeSpan.FromSeconds(10), StressDataTimeout = TimeSpan.FromSeconds(20),
    };

    [Fact]
    public void Stress_begins_at_the_threshold_and_ends_well_below_it()
    {
        var stress = new StressMode(Options);
        Assert.Equal(8, stress.Threshold);
        Assert.False(stress.Update(7));
        Assert.Equal(TimeSpan.FromMinutes(5), stress.Current.Command);
        Assert.True(stress.Update(8));
        Assert.True(stress.Active);
        Assert.Equal(TimeSpan.FromSeconds(10), stress.Current.Command);
        Assert.Equal(TimeSpan.FromSeconds(20), stress.Current.Data);
        Assert.False(stress.Update(12));
        Assert.False(stress.Update(6));  // stays on until below 3/4 of the threshold
        Assert.True(stress.Update(5));
        Assert.False(stress.Active);
        Assert.Equal(TimeSpan.FromMinutes(3), stress.Current.Data);
    }

    [Fact]
    public void Stress_timeouts_never_lengthen_the_normal_ones()
    {
        var stress = new StressMode(Options with { CommandTimeout = TimeSpan.FromSeconds(2) });
        stress.Update(10);
        Assert.Equal(TimeSpan.FromSeconds(2), stress.Current.Command);
    }

    [Fact]
    public void Threshold_zero_turns_stress_mode_off()
    {
        var stress = new StressMode(Options with { StressThreshold = 0 });
        Assert.False(stress.Update(1_000_000));
        Assert.False(stress.Active);
    }
}
