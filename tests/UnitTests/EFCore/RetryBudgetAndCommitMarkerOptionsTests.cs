#pragma warning disable EF1001 // tests reach into EFCore.Dsql internals on purpose
using Dsql.Npgsql;
using Dsql.Npgsql.Internal;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;

namespace EFCore.Dsql.UnitTests.EFCore;

/// <summary>
/// The retry budget (time and count) and commit-marker verification are set in one place of <c>UseAuroraDsql</c>, with
/// the same <see cref="DsqlRetryOptions"/> the connector's <see cref="DsqlRetry"/> takes, validated when configured.
/// </summary>
public class RetryBudgetAndCommitMarkerOptionsTests
{
    [Fact]
    public void The_time_budget_and_count_given_to_UseAuroraDsql_reach_the_strategy()
    {
        using var context = new DbContext(TestEndpoints.Options(o => o.EnableRetryOnFailure(
            new DsqlRetryOptions { MaxRetryDuration = TimeSpan.FromSeconds(5), MaxRetryCount = 7 })));

        var strategy = Assert.IsType<DsqlRetryingExecutionStrategy>(context.Database.CreateExecutionStrategy());

        Assert.Equal((TimeSpan.FromSeconds(5), 7), (strategy.MaxRetryDuration, strategy.MaxRetryCount));
    }

    [Fact]
    public void A_negative_time_budget_is_refused_when_configuring_with_the_setting_named()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(
            () => TestEndpoints.Options(o => o.EnableRetryOnFailure(new DsqlRetryOptions { MaxRetryDuration = TimeSpan.FromSeconds(-1) })));

        Assert.Equal(nameof(DsqlRetryOptions.MaxRetryDuration), error.ParamName);
    }

    [Fact]
    public void A_count_given_later_keeps_the_time_budget_and_the_commit_marker()
    {
        var options = TestEndpoints.Options(o => o
            .EnableRetryOnFailure(new DsqlRetryOptions { MaxRetryDuration = TimeSpan.FromSeconds(5) })
            .VerifyCommitsWithMarker()
            .EnableRetryOnFailure(3));

        var retry = options.FindExtension<DsqlOptionsExtension>()!.Retry.Options;

        Assert.Equal((3, TimeSpan.FromSeconds(5), DsqlCommitMarkerOptions.Default), (retry.MaxRetryCount, retry.MaxRetryDuration, retry.CommitMarker));
    }

    [Fact]
    public void Commits_are_not_verified_with_a_marker_unless_asked()
    {
        Assert.Null(TestEndpoints.Options().FindExtension<DsqlOptionsExtension>()!.Retry.Options.CommitMarker);
        Assert.Null(DsqlRetryOptions.Default.CommitMarker);
    }

    [Fact]
    public void The_log_fragment_states_the_time_budget_the_count_and_the_marker_table()
    {
        var fragment = TestEndpoints.Options(o => o.VerifyCommitsWithMarker(new DsqlCommitMarkerOptions { Schema = "ops", Table = "markers" }))
            .FindExtension<DsqlOptionsExtension>()!.Info.LogFragment;

        Assert.Contains("MaxRetryDuration=60s MaxRetryCount=200", fragment);
        Assert.Contains("CommitMarker=ops.markers", fragment);
    }

    [Fact]
    public void An_empty_marker_table_name_is_refused_when_configuring()
    {
        var error = Assert.Throws<ArgumentException>(() => TestEndpoints.Options(o => o.VerifyCommitsWithMarker(new DsqlCommitMarkerOptions { Table = " " })));

        Assert.Equal(nameof(DsqlCommitMarkerOptions.Table), error.ParamName);
    }

    [Fact]
    public void Marker_ids_repeat_per_transaction_ordinal_across_attempts_and_differ_between_ordinals_and_units()
    {
        var previous = DsqlCommitMarkerUnit.Begin();
        try
        {
            var unit = DsqlCommitMarkerUnit.Current!;
            unit.StartAttempt();
            var (first, second) = (unit.NextMarkerId(), unit.NextMarkerId());
            unit.StartAttempt();
            var (firstAgain, secondAgain) = (unit.NextMarkerId(), unit.NextMarkerId());

            Assert.Equal((first, second), (firstAgain, secondAgain));
            Assert.NotEqual(first, second);
            Assert.NotEqual(DsqlCommitMarkerUnit.MarkerId(Guid.NewGuid(), 0), first);
        }
        finally
        {
            DsqlCommitMarkerUnit.End(previous);
        }
    }

    [Fact]
    public void Marker_table_names_are_quoted()
        => Assert.Equal("\"my\"\"schema\".\"dsql_commit_markers\"", DsqlCommitMarkerStore.QualifiedName(new DsqlCommitMarkerOptions { Schema = "my\"schema" }));
}
