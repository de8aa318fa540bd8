"""The results document as serializers, so the OpenAPI document describes it
(docs/reader_study_results.md). Schema only: the views send the document as it is built."""

from rest_framework import serializers

NUMBER = {"allow_null": True, "required": False}


class EstimateSerializer(serializers.Serializer):
    estimate = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)


def _estimate(**kwargs) -> EstimateSerializer:
    return EstimateSerializer(allow_null=True, required=False, **kwargs)


class CountsSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    tp = serializers.IntegerField()
    fp = serializers.IntegerField()
    tn = serializers.IntegerField()
    fn = serializers.IntegerField()


class StudySummarySerializer(serializers.Serializer):
    title = serializers.CharField()
    reference = serializers.CharField(help_text="The reference modality.")
    modalities = serializers.ListField(child=serializers.CharField())
    readers = serializers.ListField(child=serializers.CharField())
    cases = serializers.IntegerField()
    diseased = serializers.IntegerField()
    has_decisions = serializers.BooleanField()
    has_seconds = serializers.BooleanField()
    covariance = serializers.CharField()
    level = serializers.FloatField()


class ReaderMetricsSerializer(serializers.Serializer):
    """One reader in one modality: estimates with exact intervals, κ, F1, time."""

    reader = serializers.CharField()
    modality = serializers.CharField()
    auc = serializers.FloatField(**NUMBER)
    auc_ci = _estimate()
    accuracy = _estimate()
    sensitivity = _estimate()
    specificity = _estimate()
    ppv = _estimate()
    npv = _estimate()
    kappa = serializers.FloatField(**NUMBER)
    kappa_ci = _estimate()
    f1 = serializers.FloatField(**NUMBER)
    median_seconds = serializers.FloatField(**NUMBER)
    counts = CountsSerializer(allow_null=True, required=False)
    cases = serializers.IntegerField(required=False)


class PooledSerializer(serializers.Serializer):
    """One modality's metrics, each the mean across readers with a Student t interval."""

    auc = _estimate()
    accuracy = _estimate()
    sensitivity = _estimate()
    specificity = _estimate()
    ppv = _estimate()
    npv = _estimate()
    kappa = _estimate()
    f1 = _estimate()
    median_seconds = _estimate()


class SubgroupSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    readers = serializers.ListField(child=serializers.CharField())
    pooled = serializers.DictField(child=PooledSerializer(), help_text="Keyed by modality.")
    note = serializers.CharField(allow_null=True)


class SubgroupsSerializer(serializers.Serializer):
    specialty = SubgroupSerializer(many=True)
    experience = SubgroupSerializer(many=True)


class AiAloneSerializer(serializers.Serializer):
    cases = serializers.IntegerField()
    cases_without_ai = serializers.IntegerField()
    auc = serializers.FloatField(**NUMBER)
    auc_ci = _estimate()
    accuracy = _estimate()
    sensitivity = _estimate()
    specificity = _estimate()
    ppv = _estimate()
    npv = _estimate()
    kappa = serializers.FloatField(**NUMBER)
    kappa_ci = _estimate()
    f1 = serializers.FloatField(**NUMBER)
    counts = CountsSerializer(allow_null=True, required=False)


class OperatingPointSerializer(serializers.Serializer):
    fpr = serializers.FloatField()
    tpr = serializers.FloatField()


class RocCurveSerializer(serializers.Serializer):
    reader = serializers.CharField(required=False)
    modality = serializers.CharField(required=False)
    auc = serializers.FloatField(**NUMBER)
    fpr = serializers.ListField(child=serializers.FloatField())
    tpr = serializers.ListField(child=serializers.FloatField())
    operating_point = OperatingPointSerializer(allow_null=True)


class RocSerializer(serializers.Serializer):
    readers = RocCurveSerializer(many=True)
    ai = RocCurveSerializer(allow_null=True)


class MrmcTestSerializer(serializers.Serializer):
    difference = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(**NUMBER)
    ci_high = serializers.FloatField(**NUMBER)
    statistic = serializers.FloatField(allow_null=True, help_text="F, or chi-square for frrc.")
    df_numerator = serializers.FloatField(**NUMBER)
    df_denominator = serializers.FloatField(**NUMBER)
    p_value = serializers.FloatField(allow_null=True)
    error_term = serializers.FloatField(allow_null=True, required=False)


class MrmcComparisonSerializer(serializers.Serializer):
    rrrc = MrmcTestSerializer()
    frrc = MrmcTestSerializer()
    rrfc = MrmcTestSerializer()


class MrmcSerializer(MrmcComparisonSerializer):
    """Obuchowski-Rockette analysis of one metric, with Hillis degrees of freedom."""

    metric = serializers.CharField()
    covariance = serializers.CharField()
    reference = serializers.CharField()
    cases = serializers.IntegerField()
    diseased = serializers.IntegerField()
    reader_means = serializers.DictField(child=serializers.FloatField(allow_null=True))
    per_reader = serializers.DictField(
        child=serializers.DictField(child=serializers.FloatField(allow_null=True)),
        help_text="Modality, then reader: the figure of merit.",
    )
    var = serializers.FloatField()
    cov1 = serializers.FloatField()
    cov2 = serializers.FloatField()
    cov3 = serializers.FloatField()
    ms_t = serializers.FloatField()
    ms_tr = serializers.FloatField()
    comparisons = serializers.DictField(
        child=MrmcComparisonSerializer(),
        required=False,
        help_text="With more than two modalities: per other modality, against the reference.",
    )


class ExcludedSerializer(serializers.Serializer):
    readers = serializers.ListField(child=serializers.CharField())
    cases = serializers.ListField(child=serializers.CharField())


class RevisionSerializer(serializers.Serializer):
    reader = serializers.CharField()
    case = serializers.CharField()
    modality = serializers.CharField()
    practice = serializers.BooleanField()
    answered_at = serializers.DateTimeField()
    revised_at = serializers.DateTimeField()
    old = serializers.DictField(help_text="The answer before the change.")
    new = serializers.DictField(help_text="The answer after it (the one counted).")


class ReaderStudyResultsSerializer(serializers.Serializer):
    """The older document (`reader_study_results NAME --json`): readers, pooled, mrmc."""

    readers = ReaderMetricsSerializer(many=True)
    pooled = serializers.DictField(child=PooledSerializer(), help_text="Keyed by modality.")
    mrmc = serializers.DictField(child=MrmcSerializer(), help_text="Keyed by metric.")
    excluded = ExcludedSerializer(required=False, help_text="Only with `complete_only`.")


class StudyResultsSerializer(ReaderStudyResultsSerializer):
    """The full results document of an imported or a designed study."""

    study = StudySummarySerializer()
    ai = AiAloneSerializer(allow_null=True)
    roc = RocSerializer()
    subgroups = SubgroupsSerializer(required=False, help_text="Designed studies only.")
    revisions = RevisionSerializer(
        many=True, required=False, help_text="Designed studies only: answers changed."
    )


class ImportedReaderStudySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    reference_modality = serializers.CharField()
    readings = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    results = serializers.CharField(help_text="The address of its results document.")
