"""The TF2 styles: eager GradientTape, tf.function, and keras.fit."""
