#pragma once
// Classifiers that evaluation trains on the fly for the Inception Score (metrics/evaluate.h), kept
// here because training is this folder's concern (metrics never depend on train).
//
//   digits   the digit classifier of train/digit_classifier.h (about 10 s on 2 CPU cores, seeded,
//            so every evaluation uses the same judge): the Inception Score of images of rendered
//            digits, out of a maximum of 10 classes.
//   digits-ttf  the same classifier trained on the TrueType digits (data/dataset.h's digits-ttf).
#include "impasto/metrics/evaluate.h"
#include "impasto/train/digit_classifier.h"

namespace impasto {

// Trains the digit classifier and wraps it; its description names how it was made and its accuracy
// on held-out real digits.
ImageClassifier trained_digit_classifier(const DigitClassifierOptions& options = {}, const Callbacks& callbacks = {});

// By name, for evaluate(): {"digits", "digits-ttf"}.
ClassifierFactories trained_classifiers();

}  // namespace impasto
