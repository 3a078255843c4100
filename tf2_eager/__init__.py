"""The TF2 styles: eager GradientTape, tf.function and keras.fit; `whole_epoch` is tf.function's tuned idiom."""
