namespace Upswing.Statistics.Tests;

public sealed class MultipleTestingTests
{
    private static readonly double[] PValues = [0.01, 0.04, 0.03, 0.005];

    [Fact]
    public void HolmBonferroni_TextbookExample_StepsDownWithRunningMaximum() =>
        Assert.Equal([0.03, 0.06, 0.06, 0.02], MultipleTesting.HolmBonferroni(PValues).Select(p => Math.Round(p, 12)));

    [Fact]
    public void BenjaminiHochberg_TextbookExample_StepsUpWithRunningMinimum() =>
        Assert.Equal([0.02, 0.04, 0.04, 0.02], MultipleTesting.BenjaminiHochberg(PValues).Select(p => Math.Round(p, 12)));

    [Fact]
    public void Adjustments_LargePValues_AreCappedAtOne()
    {
        Assert.All(MultipleTesting.HolmBonferroni([0.5, 0.9, 0.7]), p => Assert.InRange(p, 0, 1));
        Assert.All(MultipleTesting.BenjaminiHochberg([0.5, 0.9, 0.7]), p => Assert.InRange(p, 0, 1));
    }

    [Fact]
    public void Adjustments_NeverLowerAPValue()
    {
        var holm = MultipleTesting.HolmBonferroni(PValues);
        var bh = MultipleTesting.BenjaminiHochberg(PValues);
        for (var i = 0; i < PValues.Length; i++)
        {
            Assert.True(holm[i] >= PValues[i] && bh[i] >= PValues[i] && holm[i] >= bh[i]);
        }
    }

    [Fact]
    public void Adjustments_EmptyFamily_IsEmpty()
    {
        Assert.Empty(MultipleTesting.HolmBonferroni([]));
        Assert.Empty(MultipleTesting.BenjaminiHochberg([]));
    }
}
