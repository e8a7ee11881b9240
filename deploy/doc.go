// Package deploy holds no code: it is the home of the container image definition
// (Dockerfile) and the Kubernetes manifests (k8s/, k8s/kserve/) for `ideal serve`.
//
// Its tests check them offline, as far as a machine without a cluster or a Docker
// daemon allows: every manifest is decoded strictly (unknown fields are errors) into
// the official Kubernetes API types (k8s.io/api apps/v1, core/v1, autoscaling/v2);
// the KServe InferenceService against a hand-written subset of the
// serving.kserve.io/v1beta1 schema and the rules its webhook applies to a custom
// predictor; the Dockerfile by a minimal parser; and the cross-references between
// them (port, probe paths, user, state path, Secret name and key, serve flags).
package deploy
