"""Simulations with a known truth: synthetic runs drawn from a law, and the teacher-student pruning perceptron.

May import the ground floor and ``laws``.
"""
